import { chmod, mkdir } from "node:fs/promises";

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
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir's mode is filtered by the umask and ignored for a directory that exists.
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** Makes an existing file private (files created before this version were 0644). */
export async function makePrivate(file: string): Promise<void> {
  await chmod(file, PRIVATE_FILE_MODE).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}
