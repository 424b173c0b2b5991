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

/**
 * Work a tool may do only once its reply is on its way: moving a cursor past what the reply
 * hands out. Committing before answering loses the page when the process dies in between,
 * or when the SDK turns the result into an "Output validation error" after the handler
 * returned. So the work waits for the transport to take the reply (over stdio: the write's
 * callback, see `StdioReplyTransport`) and is dropped if the reply is an error, is never sent
 * (the call was cancelled) or cannot be sent.
 */
export class Deliveries {
  readonly #pending = new Map<RequestId, (() => void)[]>();
  readonly #tasks = new Map<string, (() => void)[]>();

  /** Runs `work` once a successful reply for `key` has been handed to the transport. */
  afterReply(key: ReplyKey, signal: AbortSignal, work: () => void): void {
    if (signal.aborted) return;
    const [map, id] = typeof key === "object" ? [this.#tasks, key.taskId] : [this.#pending, key];
    const pending = map as Map<RequestId, (() => void)[]>;
    const list = pending.get(id);
    if (list) list.push(work);
    else pending.set(id, [work]);
    // A cancelled call gets no reply: its work must not wait forever.
    signal.addEventListener("abort", () => pending.delete(id), { once: true });
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
      await send(message, options);
      if (succeeded(message)) for (const run of work) run();
    };
    return transport;
  }

  /** Work still waiting for a reply (for tests and shutdown). */
  get waiting(): number {
    return this.#pending.size + this.#tasks.size;
  }
}
