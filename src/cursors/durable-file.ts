import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/*
 * The cursor file's small, hot I/O: a lock, a read, a durable replace. Each is a handful of
 * syscalls on a file of a few kilobytes, so they run synchronously: through libuv's thread
 * pool each of the ~12 steps costs a round trip (~0.3 ms here), which made a commit take
 * ~3.7 ms of a wait_for_email result's ~5 ms (SPEC §7 latency). Only waiting for another
 * process's lock yields the event loop.
 */

/** A lock older than this is taken over: its holder died (a commit holds it ~1 ms). */
const STALE_MS = 2_000;
/** Give up waiting for the lock after this long. */
const LOCK_TIMEOUT_MS = 10_000;

/**
 * Runs `fn` holding a cross-process lock: the directory `lockPath`, created with mkdir (atomic
 * on every local filesystem; the layout proper-lockfile uses, so older versions interlock).
 */
export async function withLock<T>(lockPath: string, fn: () => T): Promise<T> {
  const giveUp = Date.now() + LOCK_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lockPath);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let mtime: number;
    try {
      mtime = statSync(lockPath).mtimeMs;
    } catch {
      continue; // released between mkdir and stat: try again at once
    }
    if (Date.now() - mtime > STALE_MS) {
      try {
        rmdirSync(lockPath);
      } catch {}
      continue;
    }
    if (Date.now() > giveUp) throw new Error(`the lock ${lockPath} stayed taken for ${LOCK_TIMEOUT_MS} ms`);
    await sleep(Math.min(50, 1 + attempt * 2));
  }
  try {
    return fn();
  } finally {
    try {
      rmdirSync(lockPath);
    } catch {}
  }
}

/** The file's text, or undefined when it does not exist. */
export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Replaces `file` with `text` atomically and durably: a temp file unique to this process and
 * call, fsync, rename. A kill -9 at any instant leaves the old file or the new one.
 */
export function replaceDurably(file: string, text: string): void {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  let renamed = false;
  try {
    const fd = openSync(temp, "w");
    try {
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        unlinkSync(temp);
      } catch {}
    }
  }
}
