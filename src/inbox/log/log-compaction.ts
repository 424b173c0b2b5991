import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { PRIVATE_FILE_MODE } from "../../state-dir.js";
import type { LogFile, Span } from "./log-file.js";
import { eventId, type LogHeader, type LogRecord, syncDir, writeFully } from "./log-format.js";
import type { LogIndex } from "./log-index.js";

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
  const temp = `${path}${COMPACT_PREFIX}${randomBytes(8).toString("hex")}`;
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

/**
 * Rewrites the log at `path` with only the entries `index` still keeps and switches `file`
 * to the new copy; `swapped` runs in the same tick as the switch. With `reissue` (a repair
 * at open under a new epoch), every record gets an event id of `header`'s epoch.
 */
export async function rewriteLog(
  path: string,
  file: LogFile,
  index: LogIndex,
  header: LogHeader,
  reissue: boolean,
  swapped: () => void,
): Promise<void> {
  const live = index.live();
  const transform = reissue
    ? (line: Buffer) => {
        const record = JSON.parse(line.toString("utf8")) as LogRecord;
        record.id = eventId(header.epoch, record.seq);
        return Buffer.from(`${JSON.stringify(record)}\n`);
      }
    : undefined;
  const { offsets, lengths, size } = await writeCompacted(
    path,
    header,
    live,
    (spans) => file.read(spans),
    transform,
  );
  await file.swap(path, size, () => {
    live.forEach((entry, i) => {
      entry.off = offsets[i] as number;
      entry.len = lengths[i] as number;
    });
    index.compacted(live);
    swapped();
  });
}
