import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { pullConsumer } from "../cursors/store.js";
import { validateTypes } from "../sources/event-types.js";
import { callSignal, resolveIdentity, type ToolContext } from "./context.js";
import { cursorInput, getCursorOutput, groupResult } from "./get-cursor.js";
import { moveGroup } from "./group-cursor.js";
import { guarded, toolResult } from "./result.js";
import { cursorValue } from "./schemas.js";

const setCursorInput = {
  ...cursorInput,
  cursor: cursorValue.describe("The new cursor: 0 replays the whole log (cursor endpoint sources)."),
  force: z
    .boolean()
    .default(false)
    .describe("With `group`: allow moving the group's position back (its members get those events again)."),
};

type Input = {
  identity?: string | undefined;
  types?: string | string[] | undefined;
  group?: string | undefined;
  cursor: number | string;
  force?: boolean | undefined;
};

export async function setCursor(input: Input, signal: AbortSignal, context: ToolContext) {
  const { source } = context;
  const identity = resolveIdentity(input.identity, context);
  const types = validateTypes(source.kind, input.types);
  let position = source.parseCursor(input.cursor);
  if (typeof position.cursor === "number") {
    // One look at the log: a cursor past its end is refused with the end (a stored one would
    // hide every mail until the log caught up), and the position learns the log's epoch.
    const page = await source.pull({ identity, since: position, types: [], limit: 1, timeoutMs: 0, signal });
    if (page.position?.epoch !== undefined) position = { ...position, epoch: page.position.epoch };
  }
  if (input.group !== undefined) {
    const view = await moveGroup(context, identity, types, input.group, position, input.force ?? false);
    return groupResult(identity, types, view, context);
  }
  const stored = await context.cursors.commit(source.key, identity, pullConsumer(types), position, true);
  const filter = types.length === 0 ? "" : ` (types ${types.join(",")})`;
  return toolResult(
    { identity, source: source.kind, types, cursor: stored.cursor, updatedAt: stored.updatedAt },
    `${identity}${filter} on ${source.kind}: cursor set to ${stored.cursor}.`,
  );
}

export function registerSetCursorTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "set_cursor",
    {
      title: "Set cursor",
      description:
        "Move a pull_events consumer's stored cursor (an identity and a `types` filter), forward or back (e.g. 0 to " +
        "replay the whole log); a cursor beyond the log's end is refused with the end's value. The next " +
        "pull_events without `since` continues from here. With `group`: moves the group's position (where its " +
        "next unclaimed page starts) — forward skips those events for every member; back is refused unless " +
        "force: true, since members already got them; pages in flight stay with their members. Use only to " +
        "recover or replay: normal reading never needs it. wait_for_email keeps no cursor to set.",
      inputSchema: setCursorInput,
      outputSchema: getCursorOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    guarded((input: Input, extra) => setCursor(input, callSignal(extra.signal, context), context)),
  );
}
