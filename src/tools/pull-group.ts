import { randomBytes } from "node:crypto";
import { beginTurn, groupKey, recordClaim, samePosition, shrinkClaim, within } from "../cursors/groups.js";
import type { CursorStore } from "../cursors/store.js";
import type { Page, Position } from "../sources/source.js";
import type { ToolContext } from "./context.js";

export interface GroupPull {
  identity: string;
  types: readonly string[];
  consumer: string;
  group: string;
  limit: number;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface GroupPage {
  page: Page;
  /** Call once the reply carrying the page is on its way: the member's next pull acknowledges it. */
  delivered?: () => void;
}

/** A member that keeps losing the race for the head stops trying after this many rounds. */
const MAX_ROUNDS = 25;

const newId = () => randomBytes(6).toString("hex");

/** Per store (one member), per group: claims whose reply went out, acknowledged by the next pull. */
const deliveredClaims = new WeakMap<CursorStore, Map<string, Set<string>>>();

function deliveredOf(store: CursorStore, key: string): Set<string> {
  const groups = deliveredClaims.get(store) ?? new Map<string, Set<string>>();
  deliveredClaims.set(store, groups);
  const claims = groups.get(key) ?? new Set<string>();
  groups.set(key, claims);
  return claims;
}

/**
 * One claim-once page for a member of a group (see `cursors/groups.ts`): acknowledge the
 * member's delivered pages, then re-read a page whose member let its lease lapse, else read
 * after the group's head and lease what came back — unless another member leased a page from
 * that head first, in which case read again from where it ended.
 */
export async function pullGroupPage(request: GroupPull, context: ToolContext): Promise<GroupPage> {
  const { source, cursors: store, now } = context;
  const key = groupKey(source.key, request.identity, request.consumer, request.group);
  const member = store.member;
  const delivered = deliveredOf(store, key);
  const deadline = now() + request.timeoutMs;
  let head: Position | null = null;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const acked = new Set(delivered);
    const turn = await store.updateGroup(key, (record) => beginTurn(record, member, acked, now(), newId));
    for (const id of acked) delivered.delete(id);
    const read = {
      identity: request.identity,
      types: request.types,
      limit: request.limit,
      signal: request.signal,
    };
    if (turn.kind === "reclaim") {
      const { claim } = turn;
      const page = await source.pull({ ...read, since: claim.from, timeoutMs: 0 });
      const events = page.events.filter((e) => within(source.positionOf(e), e.id, claim.to));
      // The whole claim is covered when the page ran past its end or the log ended inside it.
      const covered = events.length < page.events.length || !page.hasMore || page.position === null;
      const last = events.at(-1);
      if (!covered || last === undefined) {
        const to = covered ? null : page.position;
        await store.updateGroup(key, (record) =>
          shrinkClaim(record, claim.id, to, last !== undefined, newId(), now()),
        );
      }
      if (last === undefined) continue;
      return {
        page: { events, position: covered ? claim.to : (page.position ?? claim.to), hasMore: true },
        delivered: () => delivered.add(claim.id),
      };
    }
    head = turn.head;
    const page = await source.pull({ ...read, since: head, timeoutMs: Math.max(0, deadline - now()) });
    const to = page.position;
    if (to === null || (page.events.length === 0 && samePosition(head, to) && !page.reset)) return { page };
    const claim = page.events.length === 0 ? undefined : { id: newId(), member, from: head, to };
    const from = head;
    const won = await store.updateGroup(key, (record) =>
      recordClaim(record, from, to, claim, page.reset !== undefined, store.groupLeaseMs, now()),
    );
    if (claim === undefined) return { page };
    if (won) return { page, delivered: () => delivered.add(claim.id) };
    // Another member leased a page from this head first: go again from the new head.
  }
  return { page: { events: [], position: head, hasMore: true } };
}
