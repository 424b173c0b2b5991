import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/**
 * The SDK's stdio transport, except that `send` resolves when the write's callback fires —
 * when the bytes are handed to the operating system — not when `write()` returns true. On
 * Linux pipe writes happen to be synchronous; on macOS, or with a full pipe, they are queued,
 * and a cursor committed on `true` could be durable while its reply was still in our memory.
 */
export class StdioReplyTransport extends StdioServerTransport {
  readonly #out: Writable;

  constructor(
    input: Readable,
    output: Writable,
    options?: ConstructorParameters<typeof StdioServerTransport>[2],
  ) {
    super(input, output, options);
    this.#out = output;
  }

  override send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.write(serializeMessage(message), (error) => (error ? reject(error) : resolve()));
    });
  }
}
