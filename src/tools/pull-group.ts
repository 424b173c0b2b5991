import { randomBytes } from "node:crypto";
import {
  beginTurn,
  groupKey,
  recordClaim,
  renewClaims,
  samePosition,
  shrinkClaim,
  within,
} from "../cursors/groups.js";
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

/** A claim this member holds: its page is in a reply on its way, or went out (`delivered`). */
interface Held {
  delivered: boolean;
  /** When the page was handed to the reply, epoch ms. */
  since: number;
}

/** What one member (one store) holds, per group, and whether it is renewing those leases. */
interface MemberGroup {
  held: Map<string, Held>;
  renewing: boolean;
}

const members = new WeakMap<CursorStore, Map<string, MemberGroup>>();

function memberGroup(store: CursorStore, key: string): MemberGroup {
  const groups = members.get(store) ?? new Map<string, MemberGroup>();
  members.set(store, groups);
  const group = groups.get(key) ?? { held: new Map(), renewing: false };
  groups.set(key, group);
  return group;
}

/**
 * The claims worth renewing: delivered pages (the agent is working on them), and pages whose
 * reply has had a lease's time to go out — one that never went out (a cancelled call, an
 * error reply) is let go, so it lapses and another member gets it.
 */
function renewable(group: MemberGroup, leaseMs: number, now: number): Set<string> {
  for (const [id, held] of group.held)
    if (!held.delivered && now - held.since > leaseMs) group.held.delete(id);
  return new Set(group.held.keys());
}

/**
 * Renews the member's leases on `key` every third of the lease while it holds any, so a live
 * member keeps its page however long its agent works on it; only a dead process (or one cut
 * off from the store) lets them lapse. Stops when it holds none or the store fails; the next
 * pull starts it again.
 */
function keepRenewing(
  store: CursorStore,
  key: string,
  group: MemberGroup,
  leaseMs: number,
  now: () => number,
) {
  if (group.renewing) return;
  group.renewing = true;
  const tick = () => {
    const ids = renewable(group, leaseMs, now());
    const stop = () => {
      group.renewing = false;
    };
    if (ids.size === 0) return stop();
    store
      .updateGroup(key, (record) => renewClaims(record, store.member, ids, now()))
      .then((holding) => (holding ? timer.refresh() : stop()), stop);
  };
  const timer = setTimeout(tick, Math.max(50, Math.floor(leaseMs / 3)));
  timer.unref();
}

/** Holds claim `id` (renewed while in flight), and returns what marks it delivered. */
function hold(
  store: CursorStore,
  key: string,
  group: MemberGroup,
  id: string,
  leaseMs: number,
  now: () => number,
) {
  group.held.set(id, { delivered: false, since: now() });
  keepRenewing(store, key, group, leaseMs, now);
  return () => {
    const held = group.held.get(id);
    if (held) held.delivered = true;
  };
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
  const group = memberGroup(store, key);
  const deadline = now() + request.timeoutMs;
  let head: Position | null = null;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const acked = new Set([...group.held].filter(([, held]) => held.delivered).map(([id]) => id));
    const turn = await store.updateGroup(key, (record) => beginTurn(record, member, acked, now(), newId));
    for (const id of acked) group.held.delete(id);
    const leaseMs = turn.leaseMs ?? store.groupLeaseMs;
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
          shrinkClaim(record, claim.id, to, events.length, newId(), now()),
        );
      }
      if (last === undefined) continue;
      return {
        page: { events, position: covered ? claim.to : (page.position ?? claim.to), hasMore: true },
        delivered: hold(store, key, group, claim.id, leaseMs, now),
      };
    }
    head = turn.head;
    const page = await source.pull({ ...read, since: head, timeoutMs: Math.max(0, deadline - now()) });
    const to = page.position;
    if (to === null || (page.events.length === 0 && samePosition(head, to) && !page.reset)) return { page };
    const claim =
      page.events.length === 0
        ? undefined
        : { id: newId(), member, from: head, to, events: page.events.length };
    const from = head;
    const won = await store.updateGroup(key, (record) =>
      recordClaim(record, from, to, claim, page.reset !== undefined, store.groupLeaseMs, now()),
    );
    if (claim === undefined) return { page };
    if (won) return { page, delivered: hold(store, key, group, claim.id, leaseMs, now) };
    // Another member leased a page from this head first: go again from the new head.
  }
  return { page: { events: [], position: head, hasMore: true } };
}
