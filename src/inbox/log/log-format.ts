import { randomBytes } from "node:crypto";
import { closeSync, fdatasync, fsync, openSync, writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";

/** The first line of the log: what it is, and a random epoch that makes event ids unique. */
export interface LogHeader {
  log: "mail-events-mcp-inbox";
  v: 1;
  epoch: string;
  created: string;
  /** Highest seq handed out when mail was last cleared: never reused, though no record holds it. */
  seqFloor?: number;
}

/** One line of the log: one mail, seen by every identity in `ids`. */
export interface LogRecord {
  seq: number;
  id: string;
  type: string;
  ts: number;
  ids: string[];
  /** Lower-cased sender address. */
  from: string;
  data: Record<string, unknown>;
}

/**
 * A fresh epoch: base36 milliseconds then random hex, so epochs sort by creation time (a log
 * made afresh always sorts after the one it replaced) and two made in one ms still differ.
 */
export const newEpoch = (now = Date.now()): string => `${now.toString(36)}${randomBytes(3).toString("hex")}`;

export const newHeader = (): LogHeader => ({
  log: "mail-events-mcp-inbox",
  v: 1,
  epoch: newEpoch(),
  created: new Date().toISOString(),
});

export const eventId = (epoch: string, seq: number): string => `evt_${epoch}_${seq}`;

/** The seq inside an event id of this log's epoch, or undefined for any other id. */
export function seqOfEventId(epoch: string, id: string): number | undefined {
  const match = /^evt_([0-9a-z]+)_(\d{1,15})$/.exec(id);
  return match?.[1] === epoch ? Number(match[2]) : undefined;
}

export function isLogRecord(value: unknown): value is LogRecord {
  const r = value as Partial<LogRecord> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    Number.isSafeInteger(r.seq) &&
    typeof r.id === "string" &&
    typeof r.type === "string" &&
    typeof r.ts === "number" &&
    Array.isArray(r.ids) &&
    r.ids.every((id) => typeof id === "string") &&
    typeof r.from === "string" &&
    typeof r.data === "object" &&
    r.data !== null
  );
}

/** A storage error: the disk is full (or over quota), so the sender should try later (452). */
export const isDiskFull = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
};

/**
 * Writes this small (a mail held in memory, a batch of log lines) are made on the calling
 * thread: they land in the page cache in microseconds, and the thread pool (four threads,
 * shared by every sync of the log and the mail files) keeps its trips for what waits on the
 * disk. Larger ones go through the pool and do not stall the event loop.
 */
const SYNC_WRITE_BYTES = 1024 * 1024;

export function writeFullySync(fd: number, buffer: Buffer, position: number): void {
  for (let done = 0; done < buffer.length; ) {
    const written = writeSync(fd, buffer, done, buffer.length - done, position + done);
    if (written <= 0) throw noSpace();
    done += written;
  }
}

const noSpace = () =>
  Object.assign(new Error("no space left on the device (a write stored 0 bytes)"), { code: "ENOSPC" });

/** Syncs `fd`'s data (not its metadata, `dataOnly`) to the disk, on the thread pool. */
export const syncFd = (fd: number, dataOnly = false): Promise<void> =>
  new Promise((resolve, reject) =>
    (dataOnly ? fdatasync : fsync)(fd, (error) => (error ? reject(error) : resolve())),
  );

/**
 * Writes all of `buffer` at `position`. A write may store fewer bytes than asked (a nearly
 * full disk does exactly that) without failing: a caller that trusted one call would leave a
 * hole in the middle of a record and still acknowledge it, so this loops, and a write that
 * stores nothing is reported as the full disk it is.
 */
export async function writeFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  if (buffer.length <= SYNC_WRITE_BYTES) return writeFullySync(handle.fd, buffer, position);
  for (let done = 0; done < buffer.length; ) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten <= 0) throw noSpace();
    done += bytesWritten;
  }
}

/** What a scan found besides the good records: the damage, for the log to act on. */
export interface ScanResult {
  header: LogHeader | undefined;
  /** Bytes of whole, newline-terminated lines: where the next append goes. */
  size: number;
  /** The file's size as found. */
  fileSize: number;
  /** Whole lines that were not readable records in seq order (the header excepted). */
  skipped: number;
  /** Highest seq seen anywhere, readable or not, so the counter never goes back. */
  maxSeq: number;
  /** Bytes after the last newline (a line cut short), if any. */
  tail?: { bytes: number; zeros: boolean; seq?: number; record?: LogRecord };
}

const TAIL_KEPT = 4 << 20;

const seqPrefix = (bytes: Buffer): number | undefined => {
  const match = /^\{"seq":(\d{1,15}),/.exec(bytes.subarray(0, 40).toString("latin1"));
  return match ? Number(match[1]) : undefined;
};

/**
 * Reads the log once at start-up, streaming, calling `onRecord` for every good line in
 * order, and reports what it could not read. It changes nothing: the log decides.
 */
export async function scanLog(
  handle: FileHandle,
  onRecord: (record: LogRecord, off: number, len: number) => void,
): Promise<ScanResult> {
  let header: LogHeader | undefined;
  let lastSeq = 0;
  let maxSeq = 0;
  let skipped = 0;
  let size = 0; // offset just past the last newline seen
  let pending: Buffer[] = []; // the current line's bytes before this chunk
  let pendingBytes = 0;
  let fileSize = 0;
  let nonZero = false;
  const chunk = Buffer.allocUnsafe(1 << 20);
  const line = (bytes: Buffer, off: number) => {
    const prefixed = seqPrefix(bytes);
    if (prefixed !== undefined) maxSeq = Math.max(maxSeq, prefixed);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString("utf8"));
    } catch {
      skipped++;
      return;
    }
    if (off === 0 && (value as Partial<LogHeader>)?.log === "mail-events-mcp-inbox") {
      header = value as LogHeader;
    } else if (isLogRecord(value) && value.seq > lastSeq) {
      lastSeq = value.seq;
      maxSeq = Math.max(maxSeq, value.seq);
      onRecord(value, off, bytes.length + 1);
    } else {
      skipped++;
    }
  };
  for (let position = 0; ; ) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < bytesRead; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      const bytes = pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]);
      line(bytes, size);
      size += bytes.length + 1;
      pending = [];
      pendingBytes = 0;
      nonZero = false;
      start = nl + 1;
    }
    if (start < bytesRead) {
      // Only the head of an unterminated run is kept (enough to name its seq, or to parse a
      // whole record that lost its newline): a zeroed file of gigabytes is only counted.
      const rest = chunk.subarray(start, bytesRead);
      if (!nonZero && rest.some((b) => b !== 0)) nonZero = true;
      if (pendingBytes < TAIL_KEPT) pending.push(Buffer.from(rest));
      pendingBytes += bytesRead - start;
    }
    position += bytesRead;
    fileSize = position;
  }
  const result: ScanResult = { header, size, fileSize, skipped, maxSeq };
  if (pendingBytes > 0) {
    const bytes = Buffer.concat(pending);
    const zeros = !nonZero;
    const tail: NonNullable<ScanResult["tail"]> = { bytes: pendingBytes, zeros };
    const seq = seqPrefix(bytes);
    if (seq !== undefined) {
      tail.seq = seq;
      result.maxSeq = Math.max(result.maxSeq, seq);
    }
    try {
      const value: unknown = JSON.parse(bytes.toString("utf8"));
      if (isLogRecord(value) && value.seq > lastSeq && bytes.length === pendingBytes) tail.record = value;
    } catch {}
    result.tail = tail;
  }
  return result;
}

/** Makes a create or rename durable: the directory entry itself must reach the disk. */
export async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, "r");
  try {
    await syncFd(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own fsync is all we can do.
  } finally {
    closeSync(fd);
  }
}
