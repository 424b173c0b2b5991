import { renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { MailEventsError } from "../errors.js";
import type { Logger } from "../log.js";
import { ensurePrivateDir, stateDirError } from "../state-dir.js";
import { BufferedCursorStore, type Pending, type StoreOptions } from "./buffered-cursor-store.js";
import { type Claim, type ClaimResult, claimOf, refusal } from "./claims.js";
import { readIfExists, replaceDurably, withLock } from "./durable-file.js";
import { FileClaims } from "./file-claims.js";
import type { GroupChange, GroupRecord } from "./groups.js";
import { keyOf, newer, type Returned, type StoredCursor } from "./merge.js";

interface CursorFile {
  version: 2;
  cursors: Record<string, StoredCursor>;
}

const FILE_NAME = "cursors.json";
/** Write failures that are the state directory's, not the store's: said as `[STATE_DIR]`. */
const STATE_DIR_CODES = new Set(["EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT", "ENOTDIR", "ENOENT"]);
const isStateDirFailure = (error: unknown): boolean =>
  STATE_DIR_CODES.has((error as NodeJS.ErrnoException)?.code ?? "");
/** Consumer groups' records, apart from the cursors: each group change is its own locked write. */
const GROUPS_FILE_NAME = "groups.json";
/** Waits' live claims (a few seconds each), one file each, apart from the cursors. */
const CLAIMS_DIR_NAME = "wait-claims";

const LEGACY_WAIT_SUFFIX = " wait_for_email";

function parseFile(text: string): Record<string, StoredCursor> {
  const parsed: unknown = JSON.parse(text);
  const cursors = (parsed as Partial<CursorFile> | null)?.cursors;
  if (typeof cursors !== "object" || cursors === null) throw new Error("no `cursors` object");
  const out: Record<string, StoredCursor> = {};
  for (const entry of Object.values(cursors) as Partial<StoredCursor>[]) {
    if (
      typeof entry?.source !== "string" ||
      typeof entry.identity !== "string" ||
      (typeof entry.cursor !== "number" && typeof entry.cursor !== "string") ||
      typeof entry.order !== "number"
    ) {
      continue;
    }
    // Version 1 kept one cursor per identity, and the wait's as a second "source": the wait
    // is a query now, and the one cursor is the unfiltered pull_events consumer.
    if (entry.consumer === undefined && entry.source.endsWith(LEGACY_WAIT_SUFFIX)) continue;
    const stored = { ...entry, consumer: entry.consumer ?? "pull" } as StoredCursor;
    if (stored.returned !== undefined && !Array.isArray(stored.returned)) delete stored.returned;
    out[keyOf(stored.source, stored.identity, stored.consumer)] = stored;
  }
  return out;
}

/**
 * Cursors per (source, identity, consumer), in memory and in one JSON file. Every write takes a
 * cross-process lock, merges with what is on disk (`newer`), and replaces the file
 * atomically (temp file, fsync, rename): a `kill -9` at any instant leaves either the old
 * or the new file, and processes sharing a state directory never roll each other back.
 * Commits that arrive while a write is in flight are coalesced into the next write.
 * Consumer groups live in `groups.json` beside it, changed under its own lock the same way,
 * so processes on one machine can share a group.
 */
export class FileCursorStore extends BufferedCursorStore {
  readonly file: string;
  readonly groupsFile: string;
  readonly #claims: FileClaims;

  private constructor(dir: string, log: Logger, options: StoreOptions) {
    super(log, options);
    this.file = join(dir, FILE_NAME);
    this.groupsFile = join(dir, GROUPS_FILE_NAME);
    this.#claims = new FileClaims(join(dir, CLAIMS_DIR_NAME), this.probe);
  }

  static async open(
    dir: string,
    log: Logger,
    options: StoreOptions | (() => Date) = {},
  ): Promise<FileCursorStore> {
    try {
      await ensurePrivateDir(dir);
    } catch (error) {
      throw stateDirError(dir, error);
    }
    const store = new FileCursorStore(dir, log, typeof options === "function" ? { now: options } : options);
    await store.refresh();
    await store.#claims.sweep(store.now().getTime());
    return store;
  }

  protected async readAll(): Promise<StoredCursor[]> {
    return Object.values(this.#parseDisk(readIfExists(this.file)));
  }

  protected async write(batch: Map<string, Pending>): Promise<void> {
    // Read, merge and replace under the lock, so no other process's newer cursor is lost.
    await this.#locked((onDisk) => {
      for (const [key, { entry, force }] of batch) onDisk[key] = force ? entry : newer(onDisk[key], entry);
      return { write: true, result: undefined };
    });
  }

  /**
   * A claim is a file of its own (`file-claims.ts`), made without the cursor file's lock or an
   * fsync: a reply waits for no disk flush. The cursor file, read as it stands (its writes are
   * atomic renames) once the claim is held, says whether the email was returned for good.
   */
  protected takeClaim(claim: Claim, now: number): Promise<ClaimResult> {
    return this.#claims.take(claim.key, now, () => {
      const onDisk = this.#parseDisk(readIfExists(this.file));
      for (const entry of Object.values(onDisk)) this.merged(entry);
      return refusal(onDisk[claim.record], claim.email, claim.epoch, now);
    });
  }

  protected dropClaim(claim: Claim): void {
    this.#dropping(this.#claims.drop(claim.key));
  }

  /** Claims being removed: `settled` waits for them too, so a released email is free once it resolves. */
  #drops = new Set<Promise<void>>();

  #dropping(drop: Promise<void>): void {
    const tracked = drop.catch((error: Error) => this.log.error(error.message));
    this.#drops.add(tracked);
    void tracked.finally(() => this.#drops.delete(tracked));
  }

  override async settled(): Promise<void> {
    await super.settled();
    await Promise.all(this.#drops);
  }

  /** The return goes to the cursor file; the claim file goes once that is durable. */
  override remember(
    source: string,
    identity: string,
    returned: Returned,
    epoch: string | undefined,
  ): StoredCursor {
    const stored = super.remember(source, identity, returned, epoch);
    const claimKey = claimOf(source, identity, returned, epoch).key;
    // A failed write keeps the claim: it lapses, and the email may come again (never lost).
    this.#dropping(
      super.settled().then(
        () => this.#claims.drop(claimKey),
        () => {},
      ),
    );
    return stored;
  }

  /** Runs `change` on the file's records under the lock, and replaces the file if it says so. */
  async #locked<T>(
    change: (onDisk: Record<string, StoredCursor>) => { write: boolean; result: T },
  ): Promise<T> {
    try {
      return await withLock(`${this.file}.lock`, () => {
        const onDisk = this.#parseDisk(readIfExists(this.file));
        const { write, result } = change(onDisk);
        for (const entry of Object.values(onDisk)) this.merged(entry);
        if (write) {
          const body: CursorFile = { version: 2, cursors: Object.fromEntries(Object.entries(onDisk)) };
          replaceDurably(this.file, `${JSON.stringify(body, null, 1)}\n`);
        }
        return result;
      });
    } catch (error) {
      throw this.#writeError(error, `save cursors to ${this.file}`);
    }
  }

  /** A failed locked write as the user reads it: the lock's own message, the state dir, or what. */
  #writeError(error: unknown, what: string): Error {
    if (error instanceof MailEventsError) return error; // the lock's own message names its file
    if (isStateDirFailure(error)) return stateDirError(dirname(this.file), error);
    return new MailEventsError(
      "CURSOR_STORE",
      `could not ${what} (${(error as Error).message}); check that MAIL_EVENTS_STATE_DIR is writable`,
      { cause: error },
    );
  }

  async updateGroup<T>(key: string, change: (record: GroupRecord | undefined) => GroupChange<T>): Promise<T> {
    // A closed store's member is gone: it renews no lease any more, so its pages lapse to others.
    if (this.#closed)
      throw new MailEventsError("CURSOR_STORE", "the cursor store is closed; restart the server");
    try {
      return await withLock(`${this.groupsFile}.lock`, () => {
        const groups = this.#readGroups();
        const { write, result } = change(groups[key]);
        if (write !== undefined) {
          groups[key] = write;
          replaceDurably(this.groupsFile, `${JSON.stringify({ version: 1, groups })}\n`);
        }
        return result;
      });
    } catch (error) {
      throw this.#writeError(error, `update the consumer group in ${this.groupsFile}`);
    }
  }

  #closed = false;

  protected async release(): Promise<void> {
    this.#closed = true;
  }

  #readGroups(): Record<string, GroupRecord> {
    const text = readIfExists(this.groupsFile);
    if (text === undefined) return {};
    try {
      const groups = (JSON.parse(text) as { groups?: unknown }).groups;
      if (typeof groups === "object" && groups !== null) return groups as Record<string, GroupRecord>;
      throw new Error("no `groups` object");
    } catch (error) {
      const aside = `${this.groupsFile}.corrupt-${Date.now()}`;
      try {
        renameSync(this.groupsFile, aside);
      } catch {}
      this.log.warn(
        `consumer group file ${this.groupsFile} could not be read (${(error as Error).message}); moved it to ${aside}: groups restart at the start of their logs`,
      );
      return {};
    }
  }

  #parseDisk(text: string | undefined): Record<string, StoredCursor> {
    if (text === undefined) return {};
    try {
      return parseFile(text);
    } catch (error) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      try {
        renameSync(this.file, aside);
      } catch {}
      this.log.warn(
        `cursor file ${this.file} could not be read (${(error as Error).message}); moved it to ${aside} and started with no stored cursors`,
      );
      return {};
    }
  }
}
