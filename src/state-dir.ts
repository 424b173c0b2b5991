import { closeSync, mkdirSync, openSync, unlinkSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MailEventsError } from "./errors.js";

/** The state directory cannot be made or written: one line naming the variable and the fix. */
export function stateDirError(dir: string, error: unknown): MailEventsError {
  if (error instanceof MailEventsError && error.code === "STATE_DIR") return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const why =
    code === "EROFS"
      ? "it is on a read-only file system"
      : code === "EACCES" || code === "EPERM"
        ? "this user may not write there"
        : code === "ENOTDIR"
          ? "part of that path is a file, not a folder"
          : code === "ENOSPC" || code === "EDQUOT"
            ? "the disk is full"
            : code === "ENOENT"
              ? "that folder cannot be created there"
              : `${code ?? (error as Error)?.message ?? String(error)}`;
  return new MailEventsError(
    "STATE_DIR",
    `cannot use the state directory ${dir}: ${why}; set MAIL_EVENTS_STATE_DIR (--state-dir) to a writable folder`,
    { cause: error },
  );
}

/**
 * `mkdir -p` that always ends. Node's own `{ recursive: true }` loops forever where mkdir
 * answers ENOENT for a path whose parent exists (under /proc, for one): it keeps re-making the
 * parent and retrying. Here each level is made once, top down, and any refusal ends it.
 * Synchronous: a handful of syscalls once at start, where each trip through libuv's thread
 * pool would cost more than the call.
 */
export function makeDirs(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    try {
      mkdirSync(at, { mode });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") break;
      const parent = dirname(at);
      if (code !== "ENOENT" || parent === at) throw error;
      missing.push(at);
      at = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  // The top level existed (EEXIST) even if it is a file: opening a file in it says so.
}

/**
 * Makes `dir` if needed and proves it writable (a probe file is created and removed), so a
 * read-only or impossible state directory is one clear `[STATE_DIR]` error at start, not a
 * hang or a stack trace at the first write.
 */
export function prepareStateDir(dir: string): void {
  // Unique enough for an exclusive create ("wx"); node:crypto would cost start-up time.
  const probe = join(dir, `.probe-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
  try {
    makeDirs(dir);
    closeSync(openSync(probe, "wx", 0o600));
    unlinkSync(probe);
  } catch (error) {
    try {
      unlinkSync(probe);
    } catch {}
    throw stateDirError(dir, error);
  }
}

/** Mode of every directory the app keeps state in: the user's alone (SPEC §5). */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file the app keeps state in (logs, stored messages, cursors, locks). */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and missing parents) private to the user, whatever the umask, and makes it
 * private when it already exists: a state directory made by an older version was 0755, and
 * mail in it (one-time codes) must not be readable by other local users.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    makeDirs(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    throw stateDirError(dir, error);
  }
  // mkdir's mode is filtered by the umask and ignored for a directory that exists. A folder
  // that cannot be changed (read-only, another owner's) is left as it is: writing in it will
  // fail, or not, on its own, with a clear [STATE_DIR] error where it does.
  await chmod(dir, PRIVATE_DIR_MODE).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EROFS" && error.code !== "EPERM") throw error;
  });
}

/** Makes an existing file private (files created before this version were 0644). */
export async function makePrivate(file: string): Promise<void> {
  await chmod(file, PRIVATE_FILE_MODE).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}
