import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_FILE_MODE } from "../../state-dir.js";
import type { Span } from "./log-file.js";
import { type LogHeader, syncDir, writeFully } from "./log-format.js";

export const COMPACT_PREFIX = ".compact-";

/** Creates a log file (0600) holding only its header line, synced. */
export async function createLogFile(path: string, header: LogHeader): Promise<FileHandle> {
  const handle = await open(path, "wx+", PRIVATE_FILE_MODE);
  try {
    // open's mode passes through the umask, which may take away the owner's own bits.
    await handle.chmod(PRIVATE_FILE_MODE);
    await writeFully(handle, Buffer.from(`${JSON.stringify(header)}\n`), 0);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
  return handle;
}

/**
 * Writes the live lines to a new file beside the log and renames it over the log (temp
 * file, fsync, rename, fsync dir), so a crash at any instant leaves the old log or the
 * new one, never a mix.
 * Returns each line's new offset and length and the new file's size. `transform` rewrites
 * each line (a new epoch re-issues the event ids); by default lines are kept as they are.
 */
export async function writeCompacted(
  path: string,
  header: LogHeader,
  live: readonly Span[],
  read: (spans: readonly Span[]) => Promise<Buffer[]>,
  transform: (line: Buffer) => Buffer = (line) => line,
): Promise<{ offsets: number[]; lengths: number[]; size: number }> {
  const dir = join(path, "..");
  const temp = `${path}${COMPACT_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`;
  let handle: FileHandle | undefined;
  try {
    handle = await createLogFile(temp, header);
    let size = (await handle.stat()).size;
    const offsets: number[] = [];
    const lengths: number[] = [];
    for (let i = 0; i < live.length; i += 500) {
      const lines = (await read(live.slice(i, i + 500))).map(transform);
      const buffer = Buffer.concat(lines);
      await writeFully(handle, buffer, size);
      for (const line of lines) {
        offsets.push(size);
        lengths.push(line.length);
        size += line.length;
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    await syncDir(dir);
    return { offsets, lengths, size };
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}
