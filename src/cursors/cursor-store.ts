import { renameSync } from "node:fs";
import { join } from "node:path";
import { MailEventsError } from "../errors.js";
import type { Logger } from "../log.js";
import { type Cursor, MAX_SEEN_IDS, type Position } from "../sources/source.js";
import { ensurePrivateDir } from "../state-dir.js";
import { readIfExists, replaceDurably, withLock } from "./durable-file.js";

export interface StoredCursor {
  source: string;
  identity: string;
  cursor: Cursor;
  order: number;
  seen?: string[];
  updatedAt: string;
}

interface CursorFile {
  version: 1;
  cursors: Record<string, StoredCursor>;
}

const FILE_NAME = "cursors.json";
const keyOf = (source: string, identity: string) => `${source}\n${identity}`;

/** Later wins by `order`; at equal order the `seen` ids are merged so replays stay dropped. */
function newer(a: StoredCursor | undefined, b: StoredCursor): StoredCursor {
  if (a === undefined || b.order > a.order) return b;
  if (b.order < a.order) return a;
  if (b.seen === undefined && a.seen === undefined) return a.updatedAt >= b.updatedAt ? a : b;
  const seen = [...new Set([...(a.seen ?? []), ...(b.seen ?? [])])].slice(-MAX_SEEN_IDS);
  return { ...(a.updatedAt >= b.updatedAt ? a : b), seen };
}

function parseFile(text: string): Record<string, StoredCursor> {
  const parsed: unknown = JSON.parse(text);
  const cursors = (parsed as Partial<CursorFile> | null)?.cursors;
  if (typeof cursors !== "object" || cursors === null) throw new Error("no `cursors` object");
  const out: Record<string, StoredCursor> = {};
  for (const entry of Object.values(cursors)) {
    if (
      typeof entry?.source === "string" &&
      typeof entry.identity === "string" &&
      (typeof entry.cursor === "number" || typeof entry.cursor === "string") &&
      typeof entry.order === "number"
    ) {
      out[keyOf(entry.source, entry.identity)] = entry;
    }
  }
  return out;
}

/**
 * Cursors per (source, identity), in memory and in one JSON file. Every write takes a
 * cross-process lock, merges with what is on disk (max by order), and replaces the file
 * atomically (temp file, fsync, rename): a `kill -9` at any instant leaves either the old
 * or the new file, and processes sharing a state directory never roll each other back.
 * Commits that arrive while a write is in flight are coalesced into the next write.
 */
export class CursorStore {
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

  static async open(dir: string, log: Logger, now: () => Date = () => new Date()): Promise<CursorStore> {
    try {
      await ensurePrivateDir(dir);
    } catch (error) {
      throw new MailEventsError(
        "CURSOR_STORE",
        `cannot create the state directory ${dir} (${(error as Error).message}); set MAIL_EVENTS_STATE_DIR to a writable folder`,
        { cause: error },
      );
    }
    const store = new CursorStore(dir, log, now);
    await store.refresh();
    return store;
  }

  get(source: string, identity: string): StoredCursor | undefined {
    return this.#memory.get(keyOf(source, identity));
  }

  /** Re-reads the file so cursors other processes moved are seen. */
  async refresh(): Promise<void> {
    for (const entry of Object.values(await this.#readDisk())) this.#merge(entry);
  }

  /**
   * Moves a cursor forward (never backward: an older position is ignored) and resolves
   * once it is durably on disk. With `force`, sets it even if that moves it back.
   */
  async commit(source: string, identity: string, position: Position, force = false): Promise<StoredCursor> {
    const stored = this.#stage(source, identity, position, force);
    await this.#flush();
    return this.get(source, identity) ?? stored;
  }

  /**
   * Moves a cursor forward in memory now, and on disk once the caller's reply has gone out.
   * A tool that committed first and then answered would lose what it returned if killed in
   * between; this order at worst repeats it. `setImmediate` runs after the SDK has written
   * the reply: stdout writes to a pipe are synchronous on Linux, so the reply is in the pipe
   * (which outlives us) before the cursor file moves. A failed write is logged and retried
   * with the next one.
   */
  advanceAfterReply(source: string, identity: string, position: Position): StoredCursor {
    const stored = this.#stage(source, identity, position, false);
    setImmediate(() => {
      this.#flush().catch((error: Error) => this.#log.error(error.message));
    });
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

  #stage(source: string, identity: string, position: Position, force: boolean): StoredCursor {
    const entry: StoredCursor = {
      source,
      identity,
      cursor: position.cursor,
      order: position.order,
      ...(position.seen === undefined ? {} : { seen: position.seen.slice(-MAX_SEEN_IDS) }),
      updatedAt: this.#now().toISOString(),
    };
    const key = keyOf(source, identity);
    const merged = force ? entry : newer(this.#memory.get(key), entry);
    this.#memory.set(key, merged);
    this.#dirty.set(key, { entry: merged, force });
    return merged;
  }

  #merge(entry: StoredCursor): void {
    const key = keyOf(entry.source, entry.identity);
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
        const body: CursorFile = { version: 1, cursors: Object.fromEntries(Object.entries(onDisk)) };
        replaceDurably(this.file, `${JSON.stringify(body, null, 1)}\n`);
      });
    } catch (error) {
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
