import { randomBytes } from "node:crypto";
import { closeSync, openSync, unlinkSync } from "node:fs";
import { readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ensurePrivateDir, PRIVATE_FILE_MODE } from "../../state-dir.js";
import { syncDir, syncFd, writeFullySync } from "./log-format.js";

/** Where an event's raw message is: `data.raw` of an `email.received` record. */
export interface RawRef {
  /** File name under `messages/`. */
  file: string;
  size: number;
  sha256: string;
}

const NAME = /^[0-9a-z]+-[0-9a-f]+\.eml$/;

/** A fresh, time-ordered file name for one message. */
export const newMessageName = (now = Date.now()): string =>
  `${now.toString(36)}-${randomBytes(6).toString("hex")}.eml`;

/**
 * The raw messages, one file each, beside the log (which keeps only a bounded event and a
 * `RawRef`). A file is durable (data and directory entry synced) before its record is
 * appended, so a `250` covers both; a crash in between leaves an orphan, swept at open.
 */
export class MessageStore {
  readonly dir: string;
  #dirSync: Promise<void> | undefined;
  #dirSyncQueued: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  async open(): Promise<void> {
    await ensurePrivateDir(this.dir);
  }

  /**
   * Writes a message held in memory (at most 1 MiB) to its own file and syncs the file's
   * data. Creating and writing it are page-cache work of microseconds, done on this thread;
   * only the sync, which waits on the disk, takes a trip to the thread pool.
   */
  async write(name: string, raw: Buffer): Promise<void> {
    const path = join(this.dir, name);
    const fd = openSync(path, "wx", PRIVATE_FILE_MODE);
    try {
      writeFullySync(fd, raw, 0);
      await syncFd(fd, true);
    } catch (error) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {}
      throw error;
    }
    closeSync(fd);
  }

  /** Moves a synced spool file (same filesystem) into the store under `name`. */
  async adopt(spoolPath: string, name: string): Promise<void> {
    await rename(spoolPath, join(this.dir, name));
  }

  /**
   * Makes the directory entries written so far durable. Callers that arrive while a sync
   * runs share the next one, so a burst of mails costs one directory fsync, not one each.
   */
  syncEntries(): Promise<void> {
    if (this.#dirSyncQueued) return this.#dirSyncQueued;
    const run = async () => {
      this.#dirSyncQueued = undefined;
      const sync = syncDir(this.dir);
      this.#dirSync = sync;
      try {
        await sync;
      } finally {
        if (this.#dirSync === sync) this.#dirSync = undefined;
      }
    };
    if (this.#dirSync === undefined) return run();
    const queued = this.#dirSync.then(run, run);
    this.#dirSyncQueued = queued;
    return queued;
  }

  /** The bytes of a stored message, or undefined when it is gone (or the name is not ours). */
  async read(name: string): Promise<Buffer | undefined> {
    if (!NAME.test(name)) return undefined;
    try {
      return await readFile(join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  remove(name: string): Promise<void> {
    if (!NAME.test(name)) return Promise.resolve();
    return unlink(join(this.dir, name)).catch(() => {});
  }

  /**
   * Files no record refers to: a crash between a message's file and its record (never
   * acknowledged), or records the log lost. Removed, or moved to `aside` when the log lost
   * records that may have been acknowledged, so those mails can still be recovered by hand.
   * Returns how many there were.
   */
  async sweep(keep: ReadonlySet<string>, aside?: string): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const orphans = names.filter((name) => !keep.has(name));
    if (orphans.length > 0 && aside !== undefined) await ensurePrivateDir(aside);
    for (const name of orphans) {
      if (aside === undefined) await unlink(join(this.dir, name)).catch(() => {});
      else await rename(join(this.dir, name), join(aside, name)).catch(() => {});
    }
    return orphans.length;
  }
}
