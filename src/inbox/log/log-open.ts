import { copyFile, type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../log.js";
import { ensurePrivateDir, makePrivate, PRIVATE_FILE_MODE } from "../../state-dir.js";
import { sweepSpool } from "../smtp/spool.js";
import { COMPACT_PREFIX, createLogFile } from "./log-compaction.js";
import { type LogHeader, type LogRecord, newHeader, scanLog, syncDir, writeFully } from "./log-format.js";
import type { MessageStore } from "./message-store.js";

export interface OpenedLog {
  handle: FileHandle;
  /** Bytes of whole lines: where the next append goes. */
  size: number;
  header: LogHeader;
  /** Highest seq the old file held, readable or not: the counter starts past it. */
  maxSeq: number;
  /**
   * Records that may have been acknowledged were lost, or the seq counter could have gone
   * back: the log goes on under `header`'s new epoch, and its records must be rewritten
   * with event ids of that epoch (`header` is not yet on disk).
   */
  newEpoch: boolean;
  /** Where damaged data was set aside (a prefix for related files), if any was. */
  aside?: string;
}

const asideName = (path: string, now: number) => `${path}.corrupt-${now}`;

/**
 * Opens the log at `path` (creating it if missing), feeding every readable record to
 * `onRecord`, and deals with what it cannot read: damaged data is set aside beside the log
 * (like `cursors.json.corrupt-<time>`), each kind of damage is told in one warning line
 * that says what is known and no more, and a loss of records that may have had a `250`
 * starts a new epoch, so no cursor of the old log can skip mail of the new one.
 * `lived` says whether this inbox directory has held a log before (its `messages/` exists).
 */
export async function openLog(
  path: string,
  dir: string,
  lived: boolean,
  log: Logger,
  onRecord: (record: LogRecord, off: number, len: number) => void,
  now: () => number,
): Promise<OpenedLog> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r+");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const header = newHeader();
    handle = await createLogFile(path, header);
    await syncDir(dir);
    if (lived) {
      log.warn(
        `local inbox: the log ${path} is missing though this inbox ran here before (deleted?): its mail is lost; started a new log under a new epoch (${header.epoch}), so cursors of the old log start over`,
      );
    }
    return { handle, size: (await handle.stat()).size, header, maxSeq: 0, newEpoch: false };
  }
  await makePrivate(path);
  const scan = await scanLog(handle, onRecord);
  const { tail } = scan;
  const opened: OpenedLog = {
    handle,
    size: scan.size,
    header: scan.header ?? newHeader(),
    maxSeq: scan.maxSeq,
    newEpoch: false,
  };
  if (scan.fileSize === 0) {
    // An empty file: a crash right after creating it, or a log emptied by hand.
    await writeFully(handle, Buffer.from(`${JSON.stringify(opened.header)}\n`), 0);
    await handle.sync();
    opened.size = (await handle.stat()).size;
    if (lived) {
      log.warn(
        `local inbox: the log ${path} was empty (0 bytes) though this inbox ran here before: its mail is lost; started it afresh under a new epoch (${opened.header.epoch}), so cursors of the old log start over`,
      );
    }
    return opened;
  }
  const damaged = scan.header === undefined || scan.skipped > 0;
  if (damaged) {
    opened.aside = asideName(path, now());
    await copyFile(path, opened.aside);
    await makePrivate(opened.aside);
    opened.header = newHeader();
    opened.newEpoch = true;
    const what =
      scan.header === undefined
        ? tail?.zeros && scan.size === 0
          ? `is all zero bytes (${scan.fileSize})`
          : "has no readable header line"
        : `has ${scan.skipped} unreadable line(s) among its records`;
    log.warn(
      `local inbox: the log ${path} ${what}; mail that had been acknowledged may be lost; a copy is kept as ${opened.aside} (and stored messages no readable record refers to, in ${opened.aside}.messages); the log goes on with the records still readable under a new epoch (${opened.header.epoch}), so cursors of the old log start over`,
    );
    // The rewrite under the new epoch drops the cut tail with everything else unreadable.
    return opened;
  }
  if (tail?.record !== undefined) {
    // A whole record that only lost its line end: nothing is lost, so keep it.
    await writeFully(handle, Buffer.from("\n"), scan.size + tail.bytes);
    await handle.datasync();
    onRecord(tail.record, scan.size, tail.bytes + 1);
    opened.size = scan.size + tail.bytes + 1;
    log.warn(
      `local inbox: the last record of the log (seq ${tail.record.seq}) had lost its line end; restored it`,
    );
  } else if (tail !== undefined) {
    const aside = `${asideName(path, now())}.tail`;
    await saveRange(handle, scan.size, tail.bytes, aside);
    await handle.truncate(scan.size);
    await handle.sync();
    const seq = tail.seq === undefined ? "" : ` (seq ${tail.seq}, which will not be used again)`;
    log.warn(
      `local inbox: dropped an incomplete last line of the log, ${tail.bytes} bytes${tail.zeros ? " of zeros" : ""}${seq}, saved as ${aside}: a write cut short, which a crash during an append leaves before the mail's 250 (a 250 goes out only once the record is whole on disk); if the file was cut later instead, that mail is lost`,
    );
  }
  return opened;
}

/** Copies `length` bytes at `off` of the log to a new private file (bounded chunks). */
async function saveRange(handle: FileHandle, off: number, length: number, to: string): Promise<void> {
  const out = await open(to, "wx", PRIVATE_FILE_MODE);
  try {
    const chunk = Buffer.allocUnsafe(Math.min(length, 1 << 20));
    for (let done = 0; done < length; ) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, length - done), off + done);
      if (bytesRead === 0) break;
      await writeFully(out, chunk.subarray(0, bytesRead), done);
      done += bytesRead;
    }
    await out.sync();
  } finally {
    await out.close();
  }
}

/** Whether `path` exists (a directory the inbox creates on its first start). */
export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Readies the log's directory before the log is read: the message store opened, spool files
 * and compaction copies a crash left behind removed. Returns whether this directory has
 * held a log before (its `messages/` existed).
 */
export async function prepareLogDir(
  dir: string,
  file: string,
  messages: MessageStore,
  spoolDir: string,
): Promise<boolean> {
  await ensurePrivateDir(dir);
  const lived = await exists(messages.dir);
  await messages.open();
  await sweepSpool(spoolDir);
  for (const name of await readdir(dir)) {
    if (name.startsWith(`${file}${COMPACT_PREFIX}`)) await unlink(join(dir, name)).catch(() => {});
  }
  return lived;
}
