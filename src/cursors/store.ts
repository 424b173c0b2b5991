import type { Position } from "../sources/source.js";
import type { ClaimResult } from "./claims.js";
import type { GroupChange, GroupRecord } from "./groups.js";
import type { Returned, StoredCursor } from "./merge.js";

export type { ClaimResult } from "./claims.js";
export type { Returned, StoredCursor } from "./merge.js";
export { MAX_RETURNED, pullConsumer, WAIT_CONSUMER } from "./merge.js";

/**
 * Where consumers stand (SPEC §4), keyed by (source, identity, consumer): kept in memory and
 * in a durable store shared by every process that uses it. Within one epoch a position
 * never moves back and several writers never roll each other back (`merge.ts` decides);
 * `advance` and `remember` are called only once the reply that hands the events out is on
 * its way, and `settled` makes them durable before the next read.
 */
export interface CursorStore {
  get(source: string, identity: string, consumer: string): StoredCursor | undefined;
  /** Re-reads the durable copy, so positions other processes moved are seen. */
  refresh(): Promise<void>;
  /** Moves a position (back too, with `force`) and resolves once it is durable. */
  commit(
    source: string,
    identity: string,
    consumer: string,
    position: Position,
    force?: boolean,
  ): Promise<StoredCursor>;
  /** Moves a position in memory now, durably soon. */
  advance(
    source: string,
    identity: string,
    consumer: string,
    position: Position,
    force?: boolean,
  ): StoredCursor;
  /**
   * Claims an email for one wait's reply before it goes out, atomically against every other
   * process using the store: refused when another wait returned it or holds a live claim on
   * it (`cursors/claims.ts`). Resolves once the claim is visible to them all.
   */
  claim(source: string, identity: string, email: Returned, epoch: string | undefined): Promise<ClaimResult>;
  /** The claim's reply did not go out: the email is free for the next wait (durably soon). */
  unclaim(source: string, identity: string, email: Returned, epoch: string | undefined): void;
  /** Adds an email to the wait consumer's returned set, durably soon (a claim's reply went out). */
  remember(source: string, identity: string, returned: Returned, epoch: string | undefined): StoredCursor;
  /** This store user's name in consumer groups: one per process (random unless set). */
  readonly member: string;
  /** The lease a group gets when this store user is the first to use it, ms. */
  readonly groupLeaseMs: number;
  /**
   * Reads one group's current record (`groupKey`), applies `change` and writes its result
   * atomically against every other process: `change` may run more than once, so it must be
   * pure. Resolves once the write is durable.
   */
  updateGroup<T>(key: string, change: (record: GroupRecord | undefined) => GroupChange<T>): Promise<T>;
  /** Resolves once every change made so far is durable; rejects if writing it failed. */
  settled(): Promise<void>;
  /** Writes what is pending and lets go of the store. */
  close(): Promise<void>;
}
