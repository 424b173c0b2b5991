import type { Readable, Writable } from "node:stream";
import { lineLimit, requestIdIn } from "../line-limit.js";
import type { Logger } from "../log.js";
import { StdioReplyTransport } from "./stdio-reply-transport.js";

/** The longest JSON-RPC line read from stdin (the SDK's own buffer limit); longer is dropped. */
export const MAX_STDIN_LINE_BYTES = 10 * 1024 * 1024;

/**
 * The MCP transport on the process's stdio: a line longer than MAX_STDIN_LINE_BYTES is dropped
 * before it reaches the SDK's buffer, logged, and — when its request id can be read — answered
 * with a JSON-RPC error, so the client is not left waiting and the server goes on.
 */
export function guardedStdioTransport(stdin: Readable, stdout: Writable, log: Logger): StdioReplyTransport {
  const limit = `${MAX_STDIN_LINE_BYTES / 1024 / 1024} MiB`;
  const transport: StdioReplyTransport = new StdioReplyTransport(
    stdin.pipe(
      lineLimit(MAX_STDIN_LINE_BYTES, (head) => {
        const id = requestIdIn(head);
        log.warn(
          `dropped a JSON-RPC message longer than ${limit} from stdin${id === undefined ? "" : ` (request id ${JSON.stringify(id)})`}; the server goes on`,
        );
        if (id !== undefined) {
          void transport
            .send({
              jsonrpc: "2.0",
              id,
              error: {
                code: -32600,
                message: `request longer than ${limit}; this server reads up to ${limit} per message`,
              },
            })
            .catch(() => {});
        }
      }),
    ),
    stdout,
    { maxBufferSize: 4 * MAX_STDIN_LINE_BYTES },
  );
  return transport;
}
