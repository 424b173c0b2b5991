import type { ProcessId } from "../lock/process-probe.js";
import { type Cursor, MAX_SEEN_IDS, type Position } from "../sources/source.js";

/**
 * An email a wait returned, with its place in the log (`Position.order`). With `until` it is
 * only claimed: a wait's reply carrying it is on its way (see `cursors/claims.ts`), and past
 * `until` (epoch ms) the claim has lapsed and the email is free again. `at` orders the claims
 * and releases of one id (a release is a claim that lapses at once); `by` names the process
 * that holds a claim, so one that exited on the claimer's host frees it before the lease.
 */
export interface Returned {
  id: string;
  order: number;
  until?: number;
  at?: number;
  by?: ProcessId;
}

/**
 * One consumer's place in one identity's log. A `pull_events` consumer (one per `types`
 * filter) keeps a position; the `wait_for_email` consumer keeps the emails it returned
 * (`returned`, bounded) and a floor: an email at or below `order` was returned or has been
 * forgotten, and is never returned again.
 */
export interface StoredCursor {
  source: string;
  identity: string;
  /** `pull`, `pull types=a,b` or `wait` (see `consumerKey`). */
  consumer: string;
  cursor: Cursor;
  order: number;
  seen?: string[];
  /** The log the position belongs to, where the source has epochs. */
  epoch?: string;
  returned?: Returned[];
  updatedAt: string;
}

/** Emails a wait consumer remembers having returned; older ones fall under its floor. */
export const MAX_RETURNED = 256;

export const keyOf = (source: string, identity: string, consumer: string) =>
  `${source}\n${identity}\n${consumer}`;

/** The consumer a `pull_events` loop with this (validated, sorted) `types` filter is. */
export const pullConsumer = (types: readonly string[]): string =>
  types.length === 0 ? "pull" : `pull types=${types.join(",")}`;
export const WAIT_CONSUMER = "wait";

/**
 * One id's two states: returned for good (no `until`) beats any claim; of two claims (or
 * releases) the later written stands.
 */
function unite(x: Returned, y: Returned): Returned {
  if (x.until === undefined) return x;
  if (y.until === undefined) return y;
  return (y.at ?? 0) > (x.at ?? 0) ? y : x;
}

/** Two wait records of one epoch: every returned id of both, the newest kept, the floor raised. */
function mergeReturned(a: StoredCursor, b: StoredCursor): StoredCursor {
  const byId = new Map<string, Returned>();
  for (const r of [...(a.returned ?? []), ...(b.returned ?? [])]) {
    const known = byId.get(r.id);
    byId.set(r.id, known === undefined ? r : unite(known, r));
  }
  const all = [...byId.values()].sort((x, y) => x.order - y.order);
  const kept = all.slice(-MAX_RETURNED);
  const dropped = all.length - kept.length;
  const floor = Math.max(a.order, b.order, dropped > 0 ? (all[dropped - 1] as Returned).order : 0);
  const later = a.updatedAt >= b.updatedAt ? a : b;
  return { ...later, cursor: floor, order: floor, returned: kept.filter((r) => r.order > floor) };
}

/**
 * Which of two records of one consumer stands. Within one epoch a position never moves back
 * (later wins by `order`; at equal order the `seen` ids are merged so replays stay dropped)
 * and wait records are united. Across epochs the newer write wins: a cursor of an earlier
 * log says nothing about the current one.
 */
export function newer(a: StoredCursor | undefined, b: StoredCursor): StoredCursor {
  if (a === undefined) return b;
  if ((a.epoch ?? "") !== (b.epoch ?? "")) return a.updatedAt > b.updatedAt ? a : b;
  if (a.returned !== undefined || b.returned !== undefined) return mergeReturned(a, b);
  if (b.order > a.order) return b;
  if (b.order < a.order) return a;
  if (b.seen === undefined && a.seen === undefined) return a.updatedAt >= b.updatedAt ? a : b;
  const seen = [...new Set([...(a.seen ?? []), ...(b.seen ?? [])])].slice(-MAX_SEEN_IDS);
  return { ...(a.updatedAt >= b.updatedAt ? a : b), seen };
}

/** A consumer's record for `position`, written `at`. */
export function positionEntry(
  source: string,
  identity: string,
  consumer: string,
  position: Position,
  at: Date,
): StoredCursor {
  return {
    source,
    identity,
    consumer,
    cursor: position.cursor,
    order: position.order,
    ...(position.seen === undefined ? {} : { seen: position.seen.slice(-MAX_SEEN_IDS) }),
    ...(position.epoch === undefined ? {} : { epoch: position.epoch }),
    updatedAt: at.toISOString(),
  };
}

/**
 * The wait consumer's record of one more returned email; `newer` unites it with what is
 * stored. `existing` keeps its floor when it belongs to the same log.
 */
export function returnedEntry(
  source: string,
  identity: string,
  returned: Returned,
  epoch: string | undefined,
  existing: StoredCursor | undefined,
  at: Date,
): StoredCursor {
  return {
    source,
    identity,
    consumer: WAIT_CONSUMER,
    cursor: 0,
    order: existing !== undefined && (existing.epoch ?? "") === (epoch ?? "") ? existing.order : 0,
    ...(epoch === undefined ? {} : { epoch }),
    returned: [returned],
    updatedAt: at.toISOString(),
  };
}
