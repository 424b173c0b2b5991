import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type LogHeader, syncDir } from "./log-file.js";
import type { Span } from "./segment-file.js";

export const COMPACT_PREFIX = ".compact-";

/** Creates a log file holding only its header line, synced. */
export async function createLogFile(path: string, header: LogHeader): Promise<FileHandle> {
  const handle = await open(path, "wx+");
  await handle.write(Buffer.from(`${JSON.stringify(header)}\n`), 0, undefined, 0);
  await handle.sync();
  return handle;
}

/**
 * Writes the live lines to a new file beside the log and renames it over the log (temp
 * file, fsync, rename, fsync dir), so a crash at any instant leaves the old log or the
 * new one, never a mix. Lines are copied byte for byte, so their lengths stay exact.
 * Returns each line's new offset and the new file's size.
 */
export async function writeCompacted(
  path: string,
  header: LogHeader,
  live: readonly Span[],
  read: (spans: readonly Span[]) => Promise<Buffer[]>,
): Promise<{ offsets: number[]; size: number }> {
  const dir = join(path, "..");
  const temp = `${path}${COMPACT_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`;
  let handle: FileHandle | undefined;
  try {
    handle = await createLogFile(temp, header);
    let size = (await handle.stat()).size;
    const offsets: number[] = [];
    for (let i = 0; i < live.length; i += 500) {
      const lines = await read(live.slice(i, i + 500));
      const buffer = Buffer.concat(lines);
      await handle.write(buffer, 0, buffer.length, size);
      for (const line of lines) {
        offsets.push(size);
        size += line.length;
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    await syncDir(dir);
    return { offsets, size };
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}
