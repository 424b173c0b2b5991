import { hasExited, type ProcessProbe } from "../lock/process-probe.js";
import { keyOf, newer, type Returned, returnedEntry, type StoredCursor, WAIT_CONSUMER } from "./merge.js";

/*
 * A wait returns an email only once it has claimed it (SPEC §3 "never twice", for waits at
 * the same instant on several processes sharing a store): the claim is checked and written
 * atomically against the durable copy (the file store under its lock, Redis with its
 * compare-and-set), so of two waits that found one email only the first to write gets it and
 * the other goes on to the next. A claim is a lease, not yet a return: the reply carrying the
 * email may still fail (output validation, a cancelled call, a process killed before it
 * wrote). Delivered, it becomes a return for good (`remember`); not delivered, it is released
 * at once; and a claimer that died before either leaves it to lapse after the lease — at
 * once for a wait on the claimer's own host, which can see that the claimer has exited.
 */

/** How long a claimed email stays hidden from other waits if its claimer dies before replying. */
export const CLAIM_LEASE_MS = 5_000;

/**
 * One wait's claim on one email: the wait record it is decided against (`record`, the key of
 * the identity's wait consumer) and the name of the claim itself (`key`: that record and the
 * email's id), in this process and in the file store's `wait-claims/`.
 */
export interface Claim {
  source: string;
  identity: string;
  email: Returned;
  epoch: string | undefined;
  record: string;
  key: string;
}

export function claimOf(source: string, identity: string, email: Returned, epoch: string | undefined): Claim {
  const record = keyOf(source, identity, WAIT_CONSUMER);
  return { source, identity, email, epoch, record, key: `${record}\n${email.id}` };
}

export type ClaimResult =
  | { claimed: true }
  /** Another wait returned it, or holds a claim on it until `until` (epoch ms). */
  | { claimed: false; until?: number };

/** True while `r` keeps its email from other waits: returned for good, or claimed and not lapsed. */
export const taken = (r: Returned, now: number): boolean => r.until === undefined || r.until > now;

/**
 * The ids a wait record keeps from every wait for good. Claimed ones are not among them: a
 * wait tries them (the claim is refused with its end) and takes them if the claim lapses.
 */
export function returnedIds(record: StoredCursor | undefined): Set<string> {
  return new Set((record?.returned ?? []).filter((r) => r.until === undefined).map((r) => r.id));
}

/**
 * A lapsed claim or a release every copy of which has lapsed too (no process can still hold a
 * live version of it: the durable copy has the latest, and the latest lapsed a lease ago).
 */
const spent = (r: Returned, now: number, leaseMs: number) =>
  r.until !== undefined && r.until <= now && (r.at ?? 0) + leaseMs <= now;

const sameLog = (record: StoredCursor | undefined, epoch: string | undefined): record is StoredCursor =>
  record !== undefined && (record.epoch ?? "") === (epoch ?? "");

/** The entry that follows the stored state of the same id: written later than it, whatever the clocks. */
function nextState(
  record: StoredCursor | undefined,
  email: Returned,
  now: number,
  until: number,
  probe?: ProcessProbe,
): { entry: Returned } {
  const known = record?.returned?.find((r) => r.id === email.id);
  const at = Math.max(now, (known?.at ?? 0) + 1);
  return { entry: { id: email.id, order: email.order, until, at, ...(probe && { by: probe.self }) } };
}

/**
 * Why the wait record `stored` keeps `email` from a new claim (under the record's floor,
 * returned, or claimed by a live lease whose holder, as far as `probe` can tell, still runs),
 * or undefined when it is free.
 */
export function refusal(
  stored: StoredCursor | undefined,
  email: Returned,
  epoch: string | undefined,
  now: number,
  probe?: ProcessProbe,
): Extract<ClaimResult, { claimed: false }> | undefined {
  if (!sameLog(stored, epoch)) return undefined;
  if (email.order <= stored.order) return { claimed: false };
  const known = stored.returned?.find((r) => r.id === email.id);
  if (known === undefined || !taken(known, now)) return undefined;
  if (known.until === undefined) return { claimed: false };
  // A holder on this host that has exited frees it now; one elsewhere is waited out.
  const freed = probe !== undefined && known.by !== undefined && hasExited(probe, known.by);
  return freed ? undefined : { claimed: false, until: known.until };
}

/**
 * Decides a claim kept in the wait record itself (the Redis store): refused as `refusal`
 * says, else the record with the claim added, naming `probe`'s process as its holder (and
 * spent claims dropped, so they do not crowd out returned ids).
 */
export function decideClaim(
  stored: StoredCursor | undefined,
  claim: Claim,
  now: number,
  probe: ProcessProbe,
  leaseMs = CLAIM_LEASE_MS,
): { write?: StoredCursor; result: ClaimResult } {
  const { source, identity, email, epoch } = claim;
  const refused = refusal(stored, email, epoch, now, probe);
  if (refused !== undefined) return { result: refused };
  const live = sameLog(stored, epoch) ? stored : undefined;
  const { entry } = nextState(live, email, now, now + leaseMs, probe);
  const merged = newer(stored, returnedEntry(source, identity, entry, epoch, live, new Date(now)));
  const kept = (merged.returned ?? []).filter((r) => !spent(r, now, leaseMs));
  return { write: { ...merged, returned: kept }, result: { claimed: true } };
}

/** The entry that releases a claim at once: a claim that lapses as it is written. */
export function releaseEntry(record: StoredCursor | undefined, email: Returned, now: number): Returned {
  return nextState(record, email, now, 0).entry;
}
