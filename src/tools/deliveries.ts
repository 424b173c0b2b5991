import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";

const responseId = (message: JSONRPCMessage): RequestId | undefined =>
  "id" in message && ("result" in message || "error" in message) ? message.id : undefined;

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

  /** Runs `work` once a successful reply to `requestId` has been handed to the transport. */
  afterReply(requestId: RequestId, signal: AbortSignal, work: () => void): void {
    if (signal.aborted) return;
    const list = this.#pending.get(requestId);
    if (list) list.push(work);
    else this.#pending.set(requestId, [work]);
    // A cancelled call gets no reply: its work must not wait forever.
    signal.addEventListener("abort", () => this.#pending.delete(requestId), { once: true });
  }

  /** Wraps `transport.send` so each response sent settles its request's work. */
  track<T extends Transport>(transport: T): T {
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      const id = responseId(message);
      if (id === undefined) return send(message, options);
      const work = this.#pending.get(id);
      this.#pending.delete(id);
      await send(message, options);
      if (work && succeeded(message)) for (const run of work) run();
    };
    return transport;
  }

  /** Work still waiting for a reply (for tests and shutdown). */
  get waiting(): number {
    return this.#pending.size;
  }
}
