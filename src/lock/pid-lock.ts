import { randomBytes } from "node:crypto";
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultProcessProbe, isLocal, type ProcessId, type ProcessProbe } from "./process-probe.js";

/*
 * One cross-process lock for every file the state directory shares (cursors.json, groups.json,
 * the inbox's log): a file made with O_EXCL that names its holder. A holder on this host that
 * has exited is known at once — its pid is gone, or now belongs to a process that started at
 * another time — so a kill -9 costs the next process nothing. Only a holder on another host
 * (a state directory on a network share) cannot be asked; its lock is stale once its mtime,
 * which a long-lived holder refreshes, is older than `staleMs`.
 */

/** What a lock file says: its holder, when it was taken, and what the caller added. */
export interface LockHolder extends ProcessId {
  acquiredAt: string;
  [detail: string]: unknown;
}

export interface HeldLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this lock's; a second call does nothing. */
  release(): void;
}

export interface LockOptions {
  probe?: ProcessProbe;
  /** Written into the lock file beside the holder (the inbox's ports, say). */
  details?: Record<string, unknown>;
  /** A lock from another host whose mtime is older than this is taken over. */
  staleMs?: number;
  /** A long-held lock touches its mtime this often, so other hosts see it alive (staleMs / 3). */
  refresh?: boolean;
  now?: () => number;
}

export type LockAttempt =
  | { lock: HeldLock; holder?: undefined }
  | { lock?: undefined; holder: LockHolder | undefined };

const DEFAULT_STALE_MS = 10_000;
/** A lock file that does not parse was being written by a process that died mid-write. */
const UNREADABLE_STALE_MS = 1_000;
/** proper-lockfile's lock was a directory refreshed every second (0.1.0 and earlier). */
const LEGACY_DIR_STALE_MS = 2_000;

/** Locks this process holds, by path: a second taker in this process is turned away too. */
const heldHere = new Map<string, HeldLock>();

function parseHolder(text: string, self: ProcessId): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder> | null;
    if (typeof value !== "object" || value === null || !Number.isSafeInteger(value.pid)) return undefined;
    // Lock files from 0.1.0's inbox name only a pid: a process on this host, started whenever.
    return {
      ...value,
      pid: value.pid as number,
      host: typeof value.host === "string" ? value.host : self.host,
      pidns:
        typeof value.pidns === "string" ? value.pidns : typeof value.host === "string" ? null : self.pidns,
      start: typeof value.start === "string" ? value.start : null,
      acquiredAt: typeof value.acquiredAt === "string" ? value.acquiredAt : String(value.started ?? ""),
    };
  } catch {
    return undefined;
  }
}

interface Seen {
  text: string | undefined;
  holder: LockHolder | undefined;
  mtimeMs: number;
  isDir: boolean;
}

function look(path: string, self: ProcessId): Seen | undefined {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return { text: undefined, holder: undefined, mtimeMs: stat.mtimeMs, isDir: true };
    const text = readFileSync(path, "utf8");
    return { text, holder: parseHolder(text, self), mtimeMs: stat.mtimeMs, isDir: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function isStale(seen: Seen, probe: ProcessProbe, staleMs: number, now: number): boolean {
  const age = now - seen.mtimeMs;
  if (seen.isDir) return age > LEGACY_DIR_STALE_MS;
  const { holder } = seen;
  if (holder === undefined) return age > UNREADABLE_STALE_MS;
  // Another host, or a container beside ours on this one: its pids are not ours to ask about.
  if (!isLocal(probe, holder)) return age > staleMs;
  // Our own pid in a lock this process does not hold: whoever wrote it has exited.
  if (holder.pid === probe.self.pid) return true;
  return !probe.isRunning(holder);
}

/**
 * Removes the lock at `path` only if it is still the one judged stale. It is moved aside first
 * (atomic), then compared: if another process had replaced it meanwhile with a fresh lock,
 * that lock is linked back where it was.
 */
function removeIfUnchanged(path: string, seen: Seen): void {
  const aside = `${path}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (seen.isDir) {
    rmdirSync(aside);
    return;
  }
  let moved: string | undefined;
  try {
    moved = readFileSync(aside, "utf8");
  } catch {}
  if (moved !== seen.text) {
    try {
      linkSync(aside, path);
    } catch {}
  }
  try {
    unlinkSync(aside);
  } catch {}
}

function holding(path: string, holder: LockHolder, text: string, refreshMs: number | undefined): HeldLock {
  const ours = () => {
    try {
      return readFileSync(path, "utf8") === text;
    } catch {
      return false;
    }
  };
  const timer =
    refreshMs === undefined
      ? undefined
      : setInterval(() => {
          const at = new Date();
          if (ours()) utimesSync(path, at, at);
        }, refreshMs);
  timer?.unref();
  let released = false;
  const lock: HeldLock = {
    path,
    holder,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      if (heldHere.get(path) === lock) heldHere.delete(path);
      if (!ours()) return;
      try {
        unlinkSync(path);
      } catch {}
    },
  };
  heldHere.set(path, lock);
  return lock;
}

/**
 * One try, without waiting: the lock, or who holds it (undefined when the file kept changing
 * under us or could not be read). A stale lock is taken over in the same call.
 */
export function tryLock(file: string, options: LockOptions = {}): LockAttempt {
  const path = resolve(file);
  const probe = options.probe ?? defaultProcessProbe();
  const now = options.now ?? Date.now;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  let holder: LockHolder | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const mine = heldHere.get(path);
    if (mine !== undefined) return { holder: mine.holder };
    const wanted: LockHolder = {
      ...options.details,
      ...probe.self,
      acquiredAt: new Date(now()).toISOString(),
      token: randomBytes(6).toString("hex"),
    };
    const text = JSON.stringify(wanted);
    let fd: number | undefined;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (fd !== undefined) {
      try {
        writeFileSync(fd, text);
      } catch (error) {
        closeSync(fd);
        unlinkSync(path);
        throw error;
      }
      closeSync(fd);
      const refreshMs = options.refresh ? Math.max(10, Math.floor(staleMs / 3)) : undefined;
      return { lock: holding(path, wanted, text, refreshMs) };
    }
    const seen = look(path, probe.self);
    if (seen === undefined) continue; // released between our open and our look
    holder = seen.holder;
    if (!isStale(seen, probe, staleMs, now())) return { holder };
    removeIfUnchanged(path, seen);
  }
  return { holder };
}

export interface WaitOptions extends LockOptions {
  /** Give up after this long. */
  waitMs: number;
  /** The error to throw on giving up, naming the holder. */
  busy: (holder: LockHolder | undefined, path: string) => Error;
}

/** Takes the lock, retrying with a growing pause while a live process holds it. */
export async function acquireLock(file: string, options: WaitOptions): Promise<HeldLock> {
  const now = options.now ?? Date.now;
  const giveUp = now() + options.waitMs;
  for (let attempt = 0; ; attempt++) {
    const tried = tryLock(file, options);
    if (tried.lock !== undefined) return tried.lock;
    if (now() > giveUp) throw options.busy(tried.holder, resolve(file));
    // Jitter, so processes that collided do not collide again in step.
    await sleep(Math.min(50, 1 + attempt * 2) * (0.5 + Math.random()));
  }
}
