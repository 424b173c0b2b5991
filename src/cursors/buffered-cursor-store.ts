import { randomBytes } from "node:crypto";
import { defaultProcessProbe, type ProcessProbe } from "../lock/process-probe.js";
import type { Logger } from "../log.js";
import type { Position } from "../sources/source.js";
import { type Claim, type ClaimResult, claimOf, releaseEntry } from "./claims.js";
import type { GroupChange, GroupRecord } from "./groups.js";
import {
  keyOf,
  newer,
  positionEntry,
  type Returned,
  returnedEntry,
  type StoredCursor,
  WAIT_CONSUMER,
} from "./merge.js";
import type { CursorStore } from "./store.js";

/** A change waiting to be written; `force` replaces what is stored instead of merging with it. */
export interface Pending {
  entry: StoredCursor;
  force: boolean;
}

export interface StoreOptions {
  now?: () => Date;
  /** Names this process in its wait claims and tells whether another claimer still runs. */
  probe?: ProcessProbe;
  /** This process's name in consumer groups (default: random). */
  member?: string;
  /** The lease of a group this process is the first to use, ms (default 30 s). */
  groupLeaseMs?: number;
}

export const DEFAULT_GROUP_LEASE_MS = 30_000;

/**
 * What every durable cursor store shares: cursors in memory, changes written in batches
 * (one write in flight, at most one queued behind it carrying every change since), failed
 * writes kept for the next one. A store says how a batch is merged into its durable copy
 * (`write`) and how that copy is read (`readAll`); the merge rules are `newer` for both.
 */
export abstract class BufferedCursorStore implements CursorStore {
  readonly member: string;
  readonly groupLeaseMs: number;
  protected readonly log: Logger;
  protected readonly now: () => Date;
  protected readonly probe: ProcessProbe;
  readonly #memory = new Map<string, StoredCursor>();
  #dirty = new Map<string, Pending>();
  /** Emails this process claimed whose reply has not settled yet: never claimed twice here. */
  readonly #claimed = new Set<string>();
  #writing: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  protected constructor(log: Logger, options: StoreOptions = {}) {
    this.log = log;
    this.now = options.now ?? (() => new Date());
    this.probe = options.probe ?? defaultProcessProbe();
    this.member = options.member ?? `m-${randomBytes(6).toString("hex")}`;
    this.groupLeaseMs = options.groupLeaseMs ?? DEFAULT_GROUP_LEASE_MS;
  }

  /** Merges `batch` into the durable copy, calling `merged` with each record that now stands there. */
  protected abstract write(batch: Map<string, Pending>): Promise<void>;
  /** Every record of the durable copy. */
  protected abstract readAll(): Promise<StoredCursor[]>;
  abstract updateGroup<T>(
    key: string,
    change: (record: GroupRecord | undefined) => GroupChange<T>,
  ): Promise<T>;
  protected abstract release(): Promise<void>;
  /**
   * Claims `email` for the wait consumer `key` atomically against every other user of the
   * store (`claims.ts` decides), resolving once the claim is visible to them all.
   */
  protected abstract takeClaim(claim: Claim, now: number): Promise<ClaimResult>;
  /** Lets go of a claim this store took (soon; a failure only leaves it to lapse). */
  protected abstract dropClaim(claim: Claim): void;

  get(source: string, identity: string, consumer: string): StoredCursor | undefined {
    return this.#memory.get(keyOf(source, identity, consumer));
  }

  /** Re-reads the durable copy so cursors other processes moved are seen. */
  async refresh(): Promise<void> {
    for (const entry of await this.readAll()) this.merged(entry);
  }

  /**
   * Moves a cursor forward (never backward: an older position is ignored) and resolves
   * once it is durable. With `force`, sets it even if that moves it back.
   */
  async commit(
    source: string,
    identity: string,
    consumer: string,
    position: Position,
    force = false,
  ): Promise<StoredCursor> {
    const stored = this.#stage(positionEntry(source, identity, consumer, position, this.now()), force);
    await this.#flush();
    return this.get(source, identity, consumer) ?? stored;
  }

  /**
   * Moves a consumer's position forward (never back) in memory now and durably soon. Tools
   * call it only once their reply is on its way (see `Deliveries`): committing first and
   * answering second would lose the page if the process died in between, or if the reply
   * never went out (an output that fails validation). `force` moves it back too (the
   * stored position did not belong to the log, and reading restarted at its beginning).
   */
  advance(
    source: string,
    identity: string,
    consumer: string,
    position: Position,
    force = false,
  ): StoredCursor {
    const stored = this.#stage(positionEntry(source, identity, consumer, position, this.now()), force);
    this.#persistSoon();
    return stored;
  }

  /**
   * Claims an email for one wait's reply, atomically against every other process (see
   * `claims.ts`): refused when it was returned, or another wait holds a live claim on it.
   */
  async claim(
    source: string,
    identity: string,
    email: Returned,
    epoch: string | undefined,
  ): Promise<ClaimResult> {
    const claim = claimOf(source, identity, email, epoch);
    if (this.#claimed.has(claim.key)) return { claimed: false };
    const result = await this.takeClaim(claim, this.now().getTime());
    if (result.claimed) this.#claimed.add(claim.key);
    return result;
  }

  /** Lets go of a claim whose reply did not go out: the email is free for the next wait at once. */
  unclaim(source: string, identity: string, email: Returned, epoch: string | undefined): void {
    const claim = claimOf(source, identity, email, epoch);
    this.#claimed.delete(claim.key);
    this.dropClaim(claim);
  }

  /** Releases a claim kept in the wait record itself: a later claim state that has lapsed. */
  protected releaseInRecord(
    source: string,
    identity: string,
    email: Returned,
    epoch: string | undefined,
  ): void {
    const existing = this.get(source, identity, WAIT_CONSUMER);
    const entry = releaseEntry(existing, email, this.now().getTime());
    this.#stage(returnedEntry(source, identity, entry, epoch, existing, this.now()), false);
    this.#persistSoon();
  }

  /** Adds an email to the wait consumer's returned set (durable soon, like `advance`). */
  remember(source: string, identity: string, returned: Returned, epoch: string | undefined): StoredCursor {
    this.#claimed.delete(claimOf(source, identity, returned, epoch).key);
    const existing = this.get(source, identity, WAIT_CONSUMER);
    const entry = returnedEntry(source, identity, returned, epoch, existing, this.now());
    const stored = this.#stage(entry, false);
    this.#persistSoon();
    return stored;
  }

  /**
   * Resolves once every commit made so far is durable; rejects if that write failed. A call
   * that starts with this leaves at most the previous reply's page uncommitted at any instant.
   */
  async settled(): Promise<void> {
    if (this.#dirty.size > 0) await this.#flush();
    await this.#queued;
    await this.#writing;
  }

  /** Writes what is pending, waits for it, and lets go of the store. */
  async close(): Promise<void> {
    if (this.#dirty.size > 0) await this.#flush().catch((error: Error) => this.log.error(error.message));
    await this.#queued?.catch(() => {});
    await this.#writing?.catch(() => {});
    await this.release();
  }

  /** Takes in a record read from the durable copy (never undoing a forced move not yet written). */
  protected merged(entry: StoredCursor): void {
    const key = keyOf(entry.source, entry.identity, entry.consumer);
    if (this.#dirty.get(key)?.force) return;
    this.#memory.set(key, newer(this.#memory.get(key), entry));
  }

  #persistSoon(): void {
    this.#flush().catch((error: Error) => this.log.error(error.message));
  }

  #stage(entry: StoredCursor, force: boolean): StoredCursor {
    const key = keyOf(entry.source, entry.identity, entry.consumer);
    const merged = force ? entry : newer(this.#memory.get(key), entry);
    this.#memory.set(key, merged);
    this.#dirty.set(key, { entry: merged, force });
    return merged;
  }

  #flush(): Promise<void> {
    if (this.#queued) return this.#queued;
    const start = async () => {
      this.#queued = undefined;
      const batch = this.#dirty;
      this.#dirty = new Map();
      const run = batch.size === 0 ? Promise.resolve() : this.write(batch);
      this.#writing = run;
      try {
        await run;
      } catch (error) {
        // Keep what failed for the next write, unless a newer commit has replaced it since.
        for (const [key, pending] of batch) if (!this.#dirty.has(key)) this.#dirty.set(key, pending);
        throw error;
      } finally {
        if (this.#writing === run) this.#writing = undefined;
      }
    };
    if (this.#writing === undefined) return start();
    const queued = this.#writing.then(start, start);
    this.#queued = queued;
    return queued;
  }
}
