import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { PRIVATE_FILE_MODE } from "../state-dir.js";

/*
 * The cursor file's small, hot I/O: a lock, a read, a durable replace. Each is a handful of
 * syscalls on a file of a few kilobytes, so they use the libraries' synchronous forms: through
 * libuv's thread pool each of the ~12 steps costs a round trip (~0.3 ms here), which made a
 * commit take ~3.7 ms of a wait_for_email result's ~5 ms (SPEC §7 latency). Only waiting for
 * another process's lock yields the event loop.
 */

type Libraries = [typeof import("proper-lockfile"), typeof import("write-file-atomic")];
let libraries: Libraries | undefined;
let loading: Promise<Libraries> | undefined;

/**
 * proper-lockfile and write-file-atomic (with graceful-fs, which patches fs as it loads) are
 * needed by the first commit, not by start-up (SPEC §7 cold start).
 */
export function loadDurableFileLibraries(): Promise<Libraries> {
  loading ??= Promise.all([
    import("proper-lockfile").then((m) => m.default),
    import("write-file-atomic").then((m) => m.default),
  ]).then((loaded) => {
    libraries = loaded;
    return loaded;
  });
  return loading;
}

/** A lock older than this is taken over: its holder died (a commit holds it ~1 ms). */
const STALE_MS = 2_000;
/** Give up waiting for the lock after this long. */
const LOCK_TIMEOUT_MS = 10_000;

/**
 * Runs `fn` holding proper-lockfile's cross-process lock on `target` (a `lockPath`
 * directory made with mkdir, atomic on every local filesystem; stale after 2 s).
 */
export async function withLock<T>(target: string, lockPath: string, fn: () => T): Promise<T> {
  const [lockfile] = await loadDurableFileLibraries();
  const giveUp = Date.now() + LOCK_TIMEOUT_MS;
  let release: () => void;
  for (let attempt = 0; ; attempt++) {
    try {
      release = lockfile.lockSync(target, { lockfilePath: lockPath, realpath: false, stale: STALE_MS });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      if (Date.now() > giveUp) throw new Error(`the lock ${lockPath} stayed taken for ${LOCK_TIMEOUT_MS} ms`);
      await sleep(Math.min(50, 1 + attempt * 2));
    }
  }
  try {
    return fn();
  } finally {
    try {
      release();
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
 * Replaces `file` with `text` atomically and durably (write-file-atomic: a temp file unique to
 * this process and call, fsync, rename): a kill -9 at any instant leaves the old or the new file.
 * Call it inside `withLock`, which has loaded the library.
 */
export function replaceDurably(file: string, text: string): void {
  if (libraries === undefined) throw new Error("replaceDurably called before withLock loaded its library");
  // 0600 whatever the umask: cursors name the identities an agent reads.
  libraries[1].sync(file, text, { fsync: true, mode: PRIVATE_FILE_MODE });
}
