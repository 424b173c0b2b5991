import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type JSONRPCMessage,
  RELATED_TASK_META_KEY,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";

const responseId = (message: JSONRPCMessage): RequestId | undefined =>
  "id" in message && ("result" in message || "error" in message) ? message.id : undefined;

/** The task whose result a response carries (`tasks/result` answers say so in `_meta`). */
const taskOf = (message: JSONRPCMessage): string | undefined => {
  if (!("result" in message)) return undefined;
  const related = (message.result._meta as Record<string, unknown> | undefined)?.[RELATED_TASK_META_KEY];
  const taskId = (related as { taskId?: unknown } | undefined)?.taskId;
  return typeof taskId === "string" ? taskId : undefined;
};

/** Whose reply the work waits for: a call's (by request id), or a task's result (by task id). */
export type ReplyKey = RequestId | { taskId: string };

const succeeded = (message: JSONRPCMessage): boolean =>
  "result" in message && (message.result as { isError?: unknown }).isError !== true;

/** Work waiting for one reply: `done` once it is on its way, `undone` if it never will be. */
interface Pending {
  done: () => void;
  undone: (() => void) | undefined;
}

/**
 * Work a tool may do only once its reply is on its way: moving a cursor past what the reply
 * hands out. Committing before answering loses the page when the process dies in between,
 * or when the SDK turns the result into an "Output validation error" after the handler
 * returned. So the work waits for the transport to take the reply (over stdio: the write's
 * callback, see `StdioReplyTransport`) and is dropped if the reply is an error, is never sent
 * (the call was cancelled) or cannot be sent — and then its `undone` runs instead (a wait's
 * claim on the email it found is let go).
 */
export class Deliveries {
  readonly #pending = new Map<RequestId, Pending[]>();
  readonly #tasks = new Map<string, Pending[]>();

  /**
   * Runs `work` once a successful reply for `key` has been handed to the transport, or
   * `undone` once it is known that none will be (an error reply, a failed send, a cancelled
   * call or task).
   */
  afterReply(key: ReplyKey, signal: AbortSignal, work: () => void, undone?: () => void): void {
    if (signal.aborted) {
      undone?.();
      return;
    }
    const [map, id] = typeof key === "object" ? [this.#tasks, key.taskId] : [this.#pending, key];
    const pending = map as Map<RequestId, Pending[]>;
    const entry = { done: work, undone };
    const list = pending.get(id);
    if (list) list.push(entry);
    else pending.set(id, [entry]);
    // A cancelled call gets no reply: its work must not wait forever.
    signal.addEventListener(
      "abort",
      () => {
        const left = pending.get(id);
        pending.delete(id);
        for (const p of left ?? []) p.undone?.();
      },
      { once: true },
    );
  }

  /** Wraps `transport.send` so each response sent settles its request's work. */
  track<T extends Transport>(transport: T): T {
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      const id = responseId(message);
      if (id === undefined) return send(message, options);
      const work = this.#pending.get(id) ?? [];
      this.#pending.delete(id);
      const taskId = taskOf(message);
      if (taskId !== undefined) {
        work.push(...(this.#tasks.get(taskId) ?? []));
        this.#tasks.delete(taskId);
      }
      try {
        await send(message, options);
      } catch (error) {
        for (const p of work) p.undone?.();
        throw error;
      }
      for (const p of work) (succeeded(message) ? p.done : p.undone)?.();
    };
    return transport;
  }

  /** Work still waiting for a reply (for tests and shutdown). */
  get waiting(): number {
    return this.#pending.size + this.#tasks.size;
  }
}
