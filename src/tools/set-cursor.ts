import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { resolveIdentity, type ToolContext } from "./context.js";
import { getCursorOutput } from "./get-cursor.js";
import { guarded, toolResult } from "./result.js";
import { cursorValue, identityInput } from "./schemas.js";

const setCursorInput = {
  identity: identityInput,
  cursor: cursorValue.describe("The new cursor: 0 replays the whole log (cursor endpoint sources)."),
};

export async function setCursor(
  input: { identity?: string | undefined; cursor: number | string },
  context: ToolContext,
) {
  const identity = resolveIdentity(input.identity, context);
  const position = context.source.parseCursor(input.cursor);
  const stored = await context.cursors.commit(context.source.key, identity, position, true);
  return toolResult(
    { identity, source: context.source.kind, cursor: stored.cursor, updatedAt: stored.updatedAt },
    `${identity} on ${context.source.kind}: cursor set to ${stored.cursor}.`,
  );
}

export function registerSetCursorTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "set_cursor",
    {
      title: "Set cursor",
      description:
        "Move an identity's stored cursor, forward or back (e.g. 0 to replay the whole log). The next pull_events " +
        "without `since` continues from here. Use only to recover or replay: normal reading never needs it.",
      inputSchema: setCursorInput,
      outputSchema: getCursorOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    guarded((input: { identity?: string | undefined; cursor: number | string }) => setCursor(input, context)),
  );
}
