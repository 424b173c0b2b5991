import { renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { MailEventsError } from "../errors.js";
import type { Logger } from "../log.js";
import { ensurePrivateDir, stateDirError } from "../state-dir.js";
import { BufferedCursorStore, type Pending, type StoreOptions } from "./buffered-cursor-store.js";
import { readIfExists, replaceDurably, withLock } from "./durable-file.js";
import type { GroupChange, GroupRecord } from "./groups.js";
import { keyOf, newer, type StoredCursor } from "./merge.js";

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

  private constructor(dir: string, log: Logger, options: StoreOptions) {
    super(log, options);
    this.file = join(dir, FILE_NAME);
    this.groupsFile = join(dir, GROUPS_FILE_NAME);
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
    return store;
  }

  protected async readAll(): Promise<StoredCursor[]> {
    return Object.values(this.#parseDisk(readIfExists(this.file)));
  }

  protected async write(batch: Map<string, Pending>): Promise<void> {
    try {
      // Read, merge and replace under the lock, so no other process's newer cursor is lost.
      await withLock(`${this.file}.lock`, () => {
        const onDisk = this.#parseDisk(readIfExists(this.file));
        for (const [key, { entry, force }] of batch) onDisk[key] = force ? entry : newer(onDisk[key], entry);
        for (const entry of Object.values(onDisk)) this.merged(entry);
        const body: CursorFile = { version: 2, cursors: Object.fromEntries(Object.entries(onDisk)) };
        replaceDurably(this.file, `${JSON.stringify(body, null, 1)}\n`);
      });
    } catch (error) {
      if (error instanceof MailEventsError) throw error; // the lock's own message names its file
      if (isStateDirFailure(error)) throw stateDirError(dirname(this.file), error);
      throw new MailEventsError(
        "CURSOR_STORE",
        `could not save cursors to ${this.file} (${(error as Error).message}); check that MAIL_EVENTS_STATE_DIR is writable`,
        { cause: error },
      );
    }
  }

  async updateGroup<T>(key: string, change: (record: GroupRecord | undefined) => GroupChange<T>): Promise<T> {
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
      if (error instanceof MailEventsError) throw error; // the lock's own message names its file
      if (isStateDirFailure(error)) throw stateDirError(dirname(this.file), error);
      throw new MailEventsError(
        "CURSOR_STORE",
        `could not update the consumer group in ${this.groupsFile} (${(error as Error).message}); check that MAIL_EVENTS_STATE_DIR is writable`,
        { cause: error },
      );
    }
  }

  protected async release(): Promise<void> {}

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
