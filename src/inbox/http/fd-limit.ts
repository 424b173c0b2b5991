import { readFileSync } from "node:fs";

/**
 * This process's soft limit on open files (`ulimit -n`), where the OS tells (Linux), else
 * undefined. Node has no getrlimit; the inbox needs it because every connection is a file
 * descriptor, and an accept() that runs out is closed by libuv without a word to Node.
 */
export function openFileLimit(
  read: () => string = () => readFileSync("/proc/self/limits", "utf8"),
): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(read());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Descriptors kept for what is not an HTTP client: node itself, the log, the SMTP sink's 200 clients. */
const RESERVED = 64 + 200;

/** The HTTP cap under `limit`: `preferred`, or what leaves the rest of the process its share. */
export function connectionCap(preferred: number, limit: number | undefined): number {
  if (limit === undefined) return preferred;
  return Math.max(8, Math.min(preferred, Math.floor((limit - RESERVED) / 2)));
}
