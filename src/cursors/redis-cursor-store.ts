import type { Logger } from "../log.js";
import { RedisConnection, type RedisConnectionOptions, type RedisSpec } from "../store/redis-connection.js";
import { BufferedCursorStore, type Pending, type StoreOptions } from "./buffered-cursor-store.js";
import { type Claim, type ClaimResult, decideClaim } from "./claims.js";
import type { GroupChange, GroupRecord } from "./groups.js";
import { newer, type StoredCursor } from "./merge.js";

/** What an atomic change of one record writes (nothing when `write` is absent) and answers. */
interface RecordChange<T> {
  write?: StoredCursor;
  result: T;
}

export interface RedisStoreOptions extends StoreOptions, RedisConnectionOptions {
  /** Prefix of this store's keys (default `mail-events:`). */
  prefix?: string;
}

/** A writer that keeps losing the race to others gives up after this many tries. */
const MAX_ATTEMPTS = 50;

const parse = <T>(text: string): T | undefined => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
};

/**
 * Cursors in Redis (SPEC §9, `MAIL_EVENTS_STORE=redis://…`): every record of the file store,
 * one field each of the hash `<prefix>cursors` (and groups in `<prefix>groups`), so servers
 * on different machines share positions. A write is a compare-and-set of the field: a writer
 * merges its change with what it last saw (`newer`, the file store's rules) and, if another
 * writer got there first, merges with what won and tries again — never backward, no writer
 * rolled back. Durable as Redis's persistence makes it (AOF `everysec`: at most a second).
 */
export class RedisCursorStore extends BufferedCursorStore {
  readonly connection: RedisConnection;
  readonly #cursorsKey: string;
  readonly #groupsKey: string;
  /** What each field held when last read or written: the compare-and-set's expectation. */
  readonly #seen = new Map<string, string>();

  constructor(spec: RedisSpec, log: Logger, options: RedisStoreOptions = {}) {
    super(log, options);
    this.connection = new RedisConnection(spec, log, options);
    const prefix = options.prefix ?? "mail-events:";
    this.#cursorsKey = `${prefix}cursors`;
    this.#groupsKey = `${prefix}groups`;
  }

  protected readAll(): Promise<StoredCursor[]> {
    return this.connection.run("could not read cursors", async (client) => {
      const all = await client.hgetall(this.#cursorsKey);
      const out: StoredCursor[] = [];
      for (const [field, text] of Object.entries(all)) {
        this.#seen.set(field, text);
        const entry = parse<StoredCursor>(text);
        if (entry !== undefined && typeof entry.order === "number") out.push(entry);
      }
      return out;
    });
  }

  protected write(batch: Map<string, Pending>): Promise<void> {
    return this.connection.run("could not save cursors", async (client) => {
      // One connection pipelines these: a batch of several consumers costs one round trip.
      await Promise.all(
        [...batch].map(async ([field, { entry, force }]) => {
          for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            const expected = this.#seen.get(field) ?? "";
            const stored = expected === "" ? undefined : parse<StoredCursor>(expected);
            const next = force ? entry : newer(stored, entry);
            const text = JSON.stringify(next);
            const current = await this.connection.compareAndSet(
              client,
              this.#cursorsKey,
              field,
              expected,
              text,
            );
            if (current === null) {
              this.#seen.set(field, text);
              this.merged(next);
              return;
            }
            this.#seen.set(field, current);
          }
          throw new Error(`the cursor kept changing under ${MAX_ATTEMPTS} attempts`);
        }),
      );
    });
  }

  protected takeClaim(claim: Claim, now: number): Promise<ClaimResult> {
    return this.#changeRecord(claim.record, (stored) => decideClaim(stored, claim, now, this.probe));
  }

  protected dropClaim({ source, identity, email, epoch }: Claim): void {
    this.releaseInRecord(source, identity, email, epoch);
  }

  /**
   * Reads the record `field`, applies `change` and writes its result with a compare-and-set
   * (`change` may run more than once, so it must be pure).
   */
  #changeRecord<T>(field: string, change: (stored: StoredCursor | undefined) => RecordChange<T>): Promise<T> {
    return this.connection.run("could not save cursors", async (client) => {
      // What this store last saw is the first guess (a wait has just refreshed): a claim then
      // costs one round trip, and the compare-and-set catches a guess that was stale.
      let held = this.#seen.get(field) ?? "";
      let fresh = false;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const stored = held === "" ? undefined : parse<StoredCursor>(held);
        const { write, result } = change(stored);
        if (write === undefined) {
          // A refusal is only as good as what it read: read once more before trusting it.
          if (fresh) {
            if (stored !== undefined) this.merged(stored);
            return result;
          }
          held = (await client.hget(this.#cursorsKey, field)) ?? "";
          this.#seen.set(field, held);
          fresh = true;
          continue;
        }
        const text = JSON.stringify(write);
        const current = await this.connection.compareAndSet(client, this.#cursorsKey, field, held, text);
        if (current === null) {
          this.#seen.set(field, text);
          this.merged(write);
          return result;
        }
        held = current;
        fresh = true;
        this.#seen.set(field, current);
      }
      throw new Error(`the cursor kept changing under ${MAX_ATTEMPTS} attempts`);
    });
  }

  updateGroup<T>(key: string, change: (record: GroupRecord | undefined) => GroupChange<T>): Promise<T> {
    return this.connection.run("could not update the consumer group", async (client) => {
      let held = (await client.hget(this.#groupsKey, key)) ?? "";
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const { write, result } = change(held === "" ? undefined : parse<GroupRecord>(held));
        if (write === undefined) return result;
        const current = await this.connection.compareAndSet(
          client,
          this.#groupsKey,
          key,
          held,
          JSON.stringify(write),
        );
        if (current === null) return result;
        held = current;
      }
      throw new Error(`the group kept changing under ${MAX_ATTEMPTS} attempts`);
    });
  }

  protected release(): Promise<void> {
    return this.connection.close();
  }
}
