import type { Position } from "../sources/source.js";
import { keyOf } from "./merge.js";

/*
 * Claim-once consumer groups (SPEC §3 `pull_events` `group`, §9): the members of a group
 * share one reading position, and each page of events is leased to one member. A member
 * acknowledges its page by pulling again; a page whose member does not come back within the
 * group's lease is handed to the next member that pulls. These are the record's transitions;
 * a store applies them atomically (`CursorStore.updateGroup`), and `tools/pull-group.ts`
 * drives them around the upstream reads.
 */

/** A page leased to one member: the events after `from`, up to and including `to`. */
export interface GroupClaim {
  id: string;
  /** The member holding it; "" for a remainder no one holds. */
  member: string;
  from: Position | null;
  to: Position;
  /** Epoch ms after which another member may take it over. */
  deadline: number;
  /** How many events the page held when it was leased, where known (for `get_cursor`). */
  events?: number;
}

/** One group's state on one consumer (source, identity, `types` filter). */
export interface GroupRecord {
  /** Where the next unclaimed page starts: after the last event any claim covers. */
  head: Position | null;
  claims: GroupClaim[];
  /** The group's lease, fixed by whoever used it first: every member expires claims alike. */
  leaseMs: number;
  updatedAt: string;
}

/** What a transition writes (nothing when `write` is absent) and what it tells the caller. */
export interface GroupChange<T> {
  write?: GroupRecord;
  result: T;
}

/** A member's turn: take over a claim another member let lapse, or read after the head. */
export type Turn = ({ kind: "reclaim"; claim: GroupClaim } | { kind: "head"; head: Position | null }) & {
  /** The group's lease (the store's default for a group not used yet). */
  leaseMs?: number;
};

/** Names a group: 1..64 of A-Z a-z 0-9 . _ - */
export const GROUP_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A group's record key: one per (source, identity, consumer, group). */
export const groupKey = (source: string, identity: string, consumer: string, group: string) =>
  `${keyOf(source, identity, consumer)}\n${group}`;

export const samePosition = (a: Position | null, b: Position | null): boolean =>
  a === b ||
  (a !== null &&
    b !== null &&
    a.cursor === b.cursor &&
    a.order === b.order &&
    (a.epoch ?? "") === (b.epoch ?? "") &&
    (a.seen ?? []).join("\n") === (b.seen ?? []).join("\n"));

/** True when an event at `at` (its position just after it) lies inside a claim ending at `to`. */
export function within(at: Position, id: string, to: Position): boolean {
  if (at.order !== to.order) return at.order < to.order;
  return to.seen === undefined || to.seen.includes(id);
}

const stamp = (record: GroupRecord, now: number): GroupRecord => ({
  ...record,
  updatedAt: new Date(now).toISOString(),
});

/**
 * Starts a member's turn: acknowledges the claims it `delivered` (its previous replies went
 * out and it has come back for more), then renews to it the oldest claim whose lease ran out,
 * if any; else it reads after the head.
 */
export function beginTurn(
  record: GroupRecord | undefined,
  member: string,
  delivered: ReadonlySet<string>,
  now: number,
  newId: () => string,
): GroupChange<Turn> {
  if (record === undefined) return { result: { kind: "head", head: null } };
  const { leaseMs } = record;
  const claims = record.claims.filter((c) => !(c.member === member && delivered.has(c.id)));
  const changed = claims.length !== record.claims.length;
  const lapsed = claims.filter((c) => c.deadline <= now).sort((a, b) => a.deadline - b.deadline)[0];
  if (lapsed === undefined) {
    return {
      ...(changed ? { write: stamp({ ...record, claims }, now) } : {}),
      result: { kind: "head", head: record.head, leaseMs },
    };
  }
  const renewed: GroupClaim = { ...lapsed, id: newId(), member, deadline: now + record.leaseMs };
  return {
    write: stamp({ ...record, claims: claims.map((c) => (c === lapsed ? renewed : c)) }, now),
    result: { kind: "reclaim", claim: renewed, leaseMs },
  };
}

/**
 * Leases the page read after `from` (ending at `to`) to `claim.member`, if no one moved the
 * head since it was read; an empty page (`claim` undefined) only moves the head past what the
 * filter skipped. With `reset` the head belonged to an older log: every claim on it is void.
 */
export function recordClaim(
  record: GroupRecord | undefined,
  from: Position | null,
  to: Position,
  claim: Omit<GroupClaim, "deadline"> | undefined,
  reset: boolean,
  leaseMs: number,
  now: number,
): GroupChange<boolean> {
  const current = record ?? { head: null, claims: [], leaseMs, updatedAt: "" };
  if (!reset && !samePosition(current.head, from)) return { result: false };
  const claims = reset ? [] : current.claims;
  const added = claim === undefined ? [] : [{ ...claim, deadline: now + current.leaseMs }];
  return { write: stamp({ ...current, head: to, claims: [...claims, ...added] }, now), result: true };
}

/**
 * A renewed claim's member read only part of it, up to `to`: it keeps that part (its `kept`
 * events; none when the part held no event for it) and the rest is left lapsed for the next turn.
 * With `to` null the range holds no events any more and the claim goes.
 */
export function shrinkClaim(
  record: GroupRecord | undefined,
  claimId: string,
  to: Position | null,
  kept: number,
  restId: string,
  now: number,
): GroupChange<void> {
  const claim = record?.claims.find((c) => c.id === claimId);
  if (record === undefined || claim === undefined) return { result: undefined };
  const claims = record.claims.filter((c) => c !== claim);
  if (to !== null) {
    if (kept > 0) claims.push({ ...claim, to, events: kept });
    const rest = claim.events === undefined ? {} : { events: Math.max(0, claim.events - kept) };
    claims.push({ id: restId, member: "", from: to, to: claim.to, deadline: 0, ...rest });
  }
  return { write: stamp({ ...record, claims }, now), result: undefined };
}

/**
 * Extends the leases `member` holds among `ids`: a member renews while its process lives, so
 * only a member that died (or was cut off from the store) loses its pages to the others.
 * True while it holds any of them.
 */
export function renewClaims(
  record: GroupRecord | undefined,
  member: string,
  ids: ReadonlySet<string>,
  now: number,
): GroupChange<boolean> {
  const mine = (c: GroupClaim) => c.member === member && ids.has(c.id);
  if (record === undefined || !record.claims.some(mine)) return { result: false };
  const claims = record.claims.map((c) => (mine(c) ? { ...c, deadline: now + record.leaseMs } : c));
  return { write: stamp({ ...record, claims }, now), result: true };
}
