import { randomBytes } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import type { Logger } from "../log.js";

/** The first line of the log: what it is, and a random epoch that makes event ids unique. */
export interface LogHeader {
  log: "mail-events-mcp-inbox";
  v: 1;
  epoch: string;
  created: string;
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

export const newHeader = (): LogHeader => ({
  log: "mail-events-mcp-inbox",
  v: 1,
  epoch: randomBytes(5).toString("hex"),
  created: new Date().toISOString(),
});

export const eventId = (epoch: string, seq: number): string => `evt_${epoch}_${seq}`;

/** The seq inside an event id of this log's epoch, or undefined for any other id. */
export function seqOfEventId(epoch: string, id: string): number | undefined {
  const match = /^evt_([0-9a-f]+)_(\d{1,15})$/.exec(id);
  return match?.[1] === epoch ? Number(match[2]) : undefined;
}

function isRecord(value: unknown): value is LogRecord {
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

export interface ScanResult {
  header: LogHeader | undefined;
  /** Bytes of whole, newline-terminated lines: where the next append goes. */
  size: number;
}

/**
 * Reads the log once at start-up, streaming, calling `onRecord` for every good line in order.
 * A last line without its newline is what a crash mid-append leaves: it was never
 * acknowledged, so it is cut off with a warning. A bad line elsewhere is skipped, never fatal.
 */
export async function scanLog(
  handle: FileHandle,
  onRecord: (record: LogRecord, off: number, len: number) => void,
  log: Logger,
): Promise<ScanResult> {
  let header: LogHeader | undefined;
  let lastSeq = 0;
  let skipped = 0;
  let size = 0; // offset just past the last newline seen
  let pending: Buffer[] = []; // the current line's bytes before this chunk
  let pendingBytes = 0;
  const chunk = Buffer.allocUnsafe(1 << 20);
  const line = (bytes: Buffer, off: number) => {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString("utf8"));
    } catch {
      skipped++;
      return;
    }
    if (off === 0 && (value as Partial<LogHeader>)?.log === "mail-events-mcp-inbox") {
      header = value as LogHeader;
    } else if (isRecord(value) && value.seq > lastSeq) {
      lastSeq = value.seq;
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
      start = nl + 1;
    }
    if (start < bytesRead) {
      pending.push(Buffer.from(chunk.subarray(start, bytesRead)));
      pendingBytes += bytesRead - start;
    }
    position += bytesRead;
  }
  if (skipped > 0) log.warn(`local inbox: skipped ${skipped} unreadable line(s) in the log`);
  if (pendingBytes > 0) {
    log.warn(
      `local inbox: dropped an incomplete last record (${pendingBytes} bytes) left by a crash; it was never acknowledged to the sender`,
    );
    await handle.truncate(size);
    await handle.sync();
  }
  return { header, size };
}

/** Makes a create or rename durable: the directory entry itself must reach the disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own fsync is all we can do.
  } finally {
    await handle.close();
  }
}
