import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { resolveIdentity, type ToolContext, waitCursorKey } from "./context.js";
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
  const [stored, wait] = await Promise.all([
    context.cursors.commit(context.source.key, identity, position, true),
    context.cursors.commit(waitCursorKey(context.source), identity, position, true),
  ]);
  return toolResult(
    {
      identity,
      source: context.source.kind,
      cursor: stored.cursor,
      updatedAt: stored.updatedAt,
      waitCursor: wait.cursor,
    },
    `${identity} on ${context.source.kind}: cursor set to ${stored.cursor}.`,
  );
}

export function registerSetCursorTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "set_cursor",
    {
      title: "Set cursor",
      description:
        "Move an identity's stored cursors (pull_events' and wait_for_email's), forward or back (e.g. 0 to replay " +
        "the whole log). The next call without `since` continues from here. Use only to recover or replay: normal " +
        "reading never needs it.",
      inputSchema: setCursorInput,
      outputSchema: getCursorOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    guarded((input: { identity?: string | undefined; cursor: number | string }) => setCursor(input, context)),
  );
}
