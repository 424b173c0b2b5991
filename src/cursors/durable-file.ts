import { randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { MailEventsError } from "../errors.js";
import { acquireLock, type LockHolder } from "../lock/pid-lock.js";
import { PRIVATE_FILE_MODE } from "../state-dir.js";

/*
 * The cursor file's small, hot I/O: a lock, a read, a durable replace. Each is a handful of
 * syscalls on a file of a few kilobytes, so they use synchronous calls: through libuv's thread
 * pool each of the ~12 steps costs a round trip (~0.3 ms here), which made a commit take
 * ~3.7 ms of a wait_for_email result's ~5 ms (SPEC §7 latency). Only waiting for another
 * process's lock yields the event loop.
 */

/**
 * How long a commit waits for another process's lock. Holders keep it ~1 ms, and one that died
 * on this host is taken over at once; this outlasts the 10 s after which a lock left by a
 * process on another host (a shared network folder) counts as abandoned.
 */
const LOCK_WAIT_MS = 15_000;

const describeHolder = (holder: LockHolder | undefined): string =>
  holder === undefined
    ? "another process"
    : `process ${holder.pid} on host ${holder.host}${holder.acquiredAt ? ` (since ${holder.acquiredAt})` : ""}`;

/** Runs `fn` holding the cross-process lock file `lockPath` (see `lock/pid-lock.ts`). */
export async function withLock<T>(lockPath: string, fn: () => T, waitMs = LOCK_WAIT_MS): Promise<T> {
  const lock = await acquireLock(lockPath, {
    waitMs,
    busy: (holder, path) =>
      new MailEventsError(
        "CURSOR_STORE",
        `the lock file ${path} stayed held by ${describeHolder(holder)} for ${waitMs / 1000} s; if that process is stuck, stop it — or, if no mail-events-mcp uses this state directory, delete ${path}`,
      ),
  });
  try {
    return fn();
  } finally {
    lock.release();
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

const swept = new Set<string>();

/**
 * Removes temp files a killed writer left beside `file`, once per file and process. Safe only
 * under the lock: a temp file exists only while its writer holds it, so any other is dead.
 */
function sweepTemps(file: string): void {
  if (swept.has(file)) return;
  swept.add(file);
  const prefix = `${basename(file)}.`;
  try {
    for (const name of readdirSync(dirname(file))) {
      if (name.startsWith(prefix) && name.endsWith(".tmp")) unlinkSync(join(dirname(file), name));
    }
  } catch {}
}

/** Temp names unique to this process (random) and call (counter), beside the file. */
const tempTag = randomBytes(4).toString("hex");
let tempCount = 0;

/**
 * Replaces `file` with `text` atomically: a temp file written and fsynced, then renamed over
 * it, so a kill -9 at any instant leaves the old or the new file. Call it inside `withLock`,
 * which keeps other processes' replaces out. (The rename itself is not followed by a
 * directory fsync: after a power cut the old cursor may come back, which redelivers events
 * but never loses one.)
 */
export function replaceDurably(file: string, text: string): void {
  sweepTemps(file);
  const temp = `${file}.${tempTag}-${++tempCount}.tmp`;
  // 0600 whatever the umask: cursors name the identities an agent reads.
  const fd = openSync(temp, "wx", PRIVATE_FILE_MODE);
  try {
    try {
      fchmodSync(fd, PRIVATE_FILE_MODE);
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {}
    throw error;
  }
}
