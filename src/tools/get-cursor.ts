import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { resolveIdentity, type ToolContext, waitCursorKey } from "./context.js";
import { guarded, toolResult } from "./result.js";
import { cursorValue, identityInput } from "./schemas.js";

export const getCursorOutput = {
  identity: z.string(),
  source: z.string(),
  cursor: cursorValue.nullable(),
  updatedAt: z.string().nullable(),
  waitCursor: cursorValue
    .nullable()
    .optional()
    .describe(
      "Where wait_for_email stands (it keeps its own cursor, so waits never disturb a pull_events loop).",
    ),
};

export async function getCursor(input: { identity?: string | undefined }, context: ToolContext) {
  const identity = resolveIdentity(input.identity, context);
  await context.cursors.refresh();
  const stored = context.cursors.get(context.source.key, identity);
  const wait = context.cursors.get(waitCursorKey(context.source), identity);
  const structured = {
    identity,
    source: context.source.kind,
    cursor: stored?.cursor ?? null,
    updatedAt: stored?.updatedAt ?? null,
    waitCursor: wait?.cursor ?? null,
  };
  const text = [
    stored
      ? `${identity} on ${context.source.kind}: cursor ${stored.cursor} (updated ${stored.updatedAt}).`
      : `${identity} on ${context.source.kind}: no stored cursor yet.`,
    wait ? `wait_for_email cursor: ${wait.cursor}.` : "",
  ]
    .join(" ")
    .trim();
  return toolResult(structured, text);
}

export function registerGetCursorTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "get_cursor",
    {
      title: "Get cursor",
      description:
        "Show where an identity stands in its event log: the stored cursor (null if none) and when it last moved. Read-only.",
      inputSchema: { identity: identityInput },
      outputSchema: getCursorOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guarded((input: { identity?: string | undefined }) => getCursor(input, context)),
  );
}
