import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { GroupView } from "../cursors/group-view.js";
import { pullConsumer } from "../cursors/store.js";
import { validateTypes } from "../sources/event-types.js";
import { resolveIdentity, type ToolContext } from "./context.js";
import { groupInput, groupLine, groupOutput, readGroup } from "./group-cursor.js";
import { guarded, toolResult } from "./result.js";
import { cursorOutput, identityInput, typesInput } from "./schemas.js";

export const cursorInput = {
  identity: identityInput,
  types: typesInput.describe(
    "Which pull_events consumer: the same `types` filter its loop passes (default: the unfiltered one).",
  ),
  group: groupInput,
};

export const getCursorOutput = {
  identity: z.string(),
  source: z.string(),
  types: z.array(z.string()),
  cursor: cursorOutput.nullable(),
  updatedAt: z.string().nullable(),
  group: groupOutput.optional().describe("With `group`: the group's position, lease and members."),
};

type Input = {
  identity?: string | undefined;
  types?: string | string[] | undefined;
  group?: string | undefined;
};

/** The result for a group: its position is the cursor, and the text names who holds what. */
export function groupResult(identity: string, types: string[], view: GroupView, context: ToolContext) {
  return toolResult(
    {
      identity,
      source: context.source.kind,
      types,
      cursor: view.position,
      updatedAt: view.updatedAt,
      group: view,
    },
    groupLine(identity, view),
  );
}

export async function getCursor(input: Input, context: ToolContext) {
  const identity = resolveIdentity(input.identity, context);
  const types = validateTypes(context.source.kind, input.types);
  if (input.group !== undefined) {
    return groupResult(identity, types, await readGroup(context, identity, types, input.group), context);
  }
  await context.cursors.refresh();
  const stored = context.cursors.get(context.source.key, identity, pullConsumer(types));
  const filter = types.length === 0 ? "" : ` (types ${types.join(",")})`;
  return toolResult(
    {
      identity,
      source: context.source.kind,
      types,
      cursor: stored?.cursor ?? null,
      updatedAt: stored?.updatedAt ?? null,
    },
    stored
      ? `${identity}${filter} on ${context.source.kind}: cursor ${stored.cursor} (updated ${stored.updatedAt}).`
      : `${identity}${filter} on ${context.source.kind}: no stored cursor yet.`,
  );
}

export function registerGetCursorTool(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "get_cursor",
    {
      title: "Get cursor",
      description:
        "Show where a pull_events consumer (an identity and a `types` filter) stands: its stored cursor (null if " +
        "none) and when it last moved. With `group`: the group's position (where the next unclaimed event " +
        "starts), its lease, each member's pages in flight and until when, and pages whose member let the " +
        "lease lapse. Read-only.",
      inputSchema: cursorInput,
      outputSchema: getCursorOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guarded((input: Input) => getCursor(input, context)),
  );
}
