import { renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { MailEventsError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Position } from "../sources/source.js";
import { ensurePrivateDir, stateDirError } from "../state-dir.js";
import { readIfExists, replaceDurably, withLock } from "./durable-file.js";
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

interface CursorFile {
  version: 2;
  cursors: Record<string, StoredCursor>;
}

const FILE_NAME = "cursors.json";
/** Write failures that are the state directory's, not the store's: said as `[STATE_DIR]`. */
const STATE_DIR_CODES = new Set(["EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT", "ENOTDIR", "ENOENT"]);

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
 * cross-process lock, merges with what is on disk (max by order), and replaces the file
 * atomically (temp file, fsync, rename): a `kill -9` at any instant leaves either the old
 * or the new file, and processes sharing a state directory never roll each other back.
 * Commits that arrive while a write is in flight are coalesced into the next write.
 */
export class FileCursorStore implements CursorStore {
  readonly file: string;
  readonly #log: Logger;
  readonly #memory = new Map<string, StoredCursor>();
  #dirty = new Map<string, { entry: StoredCursor; force: boolean }>();
  #writing: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #now: () => Date;

  private constructor(dir: string, log: Logger, now: () => Date) {
    this.file = join(dir, FILE_NAME);
    this.#log = log;
    this.#now = now;
  }

  static async open(dir: string, log: Logger, now: () => Date = () => new Date()): Promise<FileCursorStore> {
    try {
      await ensurePrivateDir(dir);
    } catch (error) {
      throw stateDirError(dir, error);
    }
    const store = new FileCursorStore(dir, log, now);
    await store.refresh();
    return store;
  }

  get(source: string, identity: string, consumer: string): StoredCursor | undefined {
    return this.#memory.get(keyOf(source, identity, consumer));
  }

  /** Re-reads the file so cursors other processes moved are seen. */
  async refresh(): Promise<void> {
    for (const entry of Object.values(await this.#readDisk())) this.#merge(entry);
  }

  /**
   * Moves a cursor forward (never backward: an older position is ignored) and resolves
   * once it is durably on disk. With `force`, sets it even if that moves it back.
   */
  async commit(
    source: string,
    identity: string,
    consumer: string,
    position: Position,
    force = false,
  ): Promise<StoredCursor> {
    const stored = this.#stage(positionEntry(source, identity, consumer, position, this.#now()), force);
    await this.#flush();
    return this.get(source, identity, consumer) ?? stored;
  }

  /**
   * Moves a consumer's position forward (never back) in memory now and on disk soon. Tools
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
    const stored = this.#stage(positionEntry(source, identity, consumer, position, this.#now()), force);
    this.#persistSoon();
    return stored;
  }

  /** Adds an email to the wait consumer's returned set (durable soon, like `advance`). */
  remember(source: string, identity: string, returned: Returned, epoch: string | undefined): StoredCursor {
    const existing = this.get(source, identity, WAIT_CONSUMER);
    const entry = returnedEntry(source, identity, returned, epoch, existing, this.#now());
    const stored = this.#stage(entry, false);
    this.#persistSoon();
    return stored;
  }

  /**
   * Resolves once every commit made so far is on disk; rejects if that write failed. A call
   * that starts with this leaves at most the previous reply's page uncommitted at any instant.
   */
  async settled(): Promise<void> {
    if (this.#dirty.size > 0) await this.#flush();
    await this.#queued;
    await this.#writing;
  }

  /** Writes what is pending and waits for it. */
  async close(): Promise<void> {
    if (this.#dirty.size > 0) await this.#flush().catch((error: Error) => this.#log.error(error.message));
    await this.#queued?.catch(() => {});
    await this.#writing?.catch(() => {});
  }

  #persistSoon(): void {
    this.#flush().catch((error: Error) => this.#log.error(error.message));
  }

  #stage(entry: StoredCursor, force: boolean): StoredCursor {
    const key = keyOf(entry.source, entry.identity, entry.consumer);
    const merged = force ? entry : newer(this.#memory.get(key), entry);
    this.#memory.set(key, merged);
    this.#dirty.set(key, { entry: merged, force });
    return merged;
  }

  #merge(entry: StoredCursor): void {
    const key = keyOf(entry.source, entry.identity, entry.consumer);
    // A forced move not yet written must not be undone by the older value still on disk.
    if (this.#dirty.get(key)?.force) return;
    this.#memory.set(key, newer(this.#memory.get(key), entry));
  }

  #flush(): Promise<void> {
    // One write in flight, at most one queued behind it carrying every commit since.
    if (this.#queued) return this.#queued;
    const start = async () => {
      this.#queued = undefined;
      const batch = this.#dirty;
      this.#dirty = new Map();
      const run = this.#write(batch);
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

  async #write(batch: Map<string, { entry: StoredCursor; force: boolean }>): Promise<void> {
    if (batch.size === 0) return;
    try {
      // Read, merge and replace under the lock, so no other process's newer cursor is lost.
      await withLock(this.file, `${this.file}.lock`, () => {
        const onDisk = this.#parseDisk(readIfExists(this.file));
        for (const [key, { entry, force }] of batch) onDisk[key] = force ? entry : newer(onDisk[key], entry);
        for (const entry of Object.values(onDisk)) this.#merge(entry);
        const body: CursorFile = { version: 2, cursors: Object.fromEntries(Object.entries(onDisk)) };
        replaceDurably(this.file, `${JSON.stringify(body, null, 1)}\n`);
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== undefined && STATE_DIR_CODES.has(code)) throw stateDirError(dirname(this.file), error);
      throw new MailEventsError(
        "CURSOR_STORE",
        `could not save cursors to ${this.file} (${(error as Error).message}); check that MAIL_EVENTS_STATE_DIR is writable`,
        { cause: error },
      );
    }
  }

  async #readDisk(): Promise<Record<string, StoredCursor>> {
    return this.#parseDisk(readIfExists(this.file));
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
      this.#log.warn(
        `cursor file ${this.file} could not be read (${(error as Error).message}); moved it to ${aside} and started with no stored cursors`,
      );
      return {};
    }
  }
}
