import { z } from "zod";
import { describeGroup, type GroupView, moveHead } from "../cursors/group-view.js";
import { GROUP_NAME, groupKey } from "../cursors/groups.js";
import { pullConsumer } from "../cursors/store.js";
import { MailEventsError } from "../errors.js";
import type { Position } from "../sources/source.js";
import type { ToolContext } from "./context.js";
import { cursorOutput } from "./schemas.js";

/** `get_cursor` / `set_cursor` on a consumer group (`pull_events` `group`). */

export const groupInput = z
  .string()
  .regex(GROUP_NAME, { error: "must be 1..64 characters of A-Z a-z 0-9 . _ -" })
  .optional()
  .describe(
    "A pull_events consumer group on this identity and `types` filter: show (or move) the group's position.",
  );

export const groupOutput = z.object({
  name: z.string(),
  position: cursorOutput
    .nullable()
    .describe("Where the next unclaimed event starts (null: the log's start)."),
  leaseMs: z.number().describe("How long a page stays with a member that stops renewing it."),
  updatedAt: z.string().nullable(),
  members: z
    .array(
      z.object({
        member: z.string(),
        claims: z.number().describe("Pages it holds whose lease runs."),
        events: z.number().nullable().describe("Events in those pages (null if unknown)."),
        leasedUntil: z.string().describe("The earliest lease end; a live member renews it."),
        from: cursorOutput.nullable().describe("Its oldest page starts after this cursor."),
      }),
    )
    .describe("Members with pages in flight (handed out, not yet acknowledged by their next pull)."),
  lapsed: z
    .object({ claims: z.number(), events: z.number().nullable(), since: z.string().nullable() })
    .describe("Pages whose member let the lease run out (died?): the next member to pull gets them."),
  you: z.string().describe("This server's member name."),
});

/** One line an operator reads: position, who holds what, what is waiting to be handed out again. */
export function groupLine(identity: string, view: GroupView): string {
  const held = view.members.map(
    (m) =>
      `${m.member} ${m.claims} page(s)${m.events === null ? "" : `/${m.events} event(s)`} until ${m.leasedUntil}`,
  );
  return (
    `group ${view.name} on ${identity}: position ${view.position ?? "start of log"}; ` +
    `${held.length === 0 ? "nothing in flight" : `in flight: ${held.join(", ")}`}; ` +
    `${view.lapsed.claims === 0 ? "none lapsed" : `${view.lapsed.claims} lapsed page(s) waiting for the next member`}; ` +
    `lease ${view.leaseMs / 1000}s; you are ${view.you}.`
  );
}

const keyFor = (context: ToolContext, identity: string, types: readonly string[], group: string) =>
  groupKey(context.source.key, identity, pullConsumer(types), group);

/** The group's state, read from the store as it stands (no change is written). */
export async function readGroup(
  context: ToolContext,
  identity: string,
  types: readonly string[],
  group: string,
): Promise<GroupView> {
  const { cursors } = context;
  const record = await cursors.updateGroup(keyFor(context, identity, types, group), (r) => ({ result: r }));
  return describeGroup(group, record, cursors.member, cursors.groupLeaseMs, context.now());
}

/**
 * Moves the group's position to `to`: forward skips what lies between for every member;
 * back (with `force`) hands those events out again. Pages in flight stay with their members.
 */
export async function moveGroup(
  context: ToolContext,
  identity: string,
  types: readonly string[],
  group: string,
  to: Position,
  force: boolean,
): Promise<GroupView> {
  const { cursors } = context;
  const now = context.now();
  const { moved, record } = await cursors.updateGroup(keyFor(context, identity, types, group), (r) =>
    moveHead(r, to, force, cursors.groupLeaseMs, now),
  );
  if (!moved) {
    throw new MailEventsError(
      "INVALID_INPUT",
      `cursor ${to.cursor} is behind group ${group}'s position ${record?.head?.cursor}: its members already got those events; pass force: true to hand them out again`,
    );
  }
  return describeGroup(group, record, cursors.member, cursors.groupLeaseMs, now);
}
