import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { isMailEventsError } from "../errors.js";

/** A successful tool result: structured content plus a short text block for the model. */
export function toolResult(structured: object, text: string): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured as Record<string, unknown> };
}

/** The one place errors become `isError` results: `[CODE] what happened; what to do`. */
export function toToolError(error: unknown): CallToolResult {
  const text = isMailEventsError(error)
    ? `[${error.code}] ${error.message}`
    : `[INTERNAL] ${(error as Error)?.message ?? String(error)}; this is a bug in mail-events-mcp — please report it`;
  return { content: [{ type: "text", text }], isError: true };
}

/** Wraps a tool handler so every throw becomes a tool error and the server stays up. */
export function guarded<A, E, R extends unknown[] = []>(
  handler: (args: A, extra: E, ...rest: R) => Promise<CallToolResult>,
) {
  return async (args: A, extra: E, ...rest: R): Promise<CallToolResult> => {
    try {
      return await handler(args, extra, ...rest);
    } catch (error) {
      return toToolError(error);
    }
  };
}
