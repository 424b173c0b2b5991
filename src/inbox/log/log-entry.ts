import type { LogRecord } from "./log-format.js";
import type { LogEntry } from "./log-index.js";
import type { RawRef } from "./message-store.js";

/** The raw message reference a record's data carries, if any. */
export const rawOf = (data: Record<string, unknown>): RawRef | undefined => {
  const raw = data.raw as Partial<RawRef> | undefined;
  return typeof raw?.file === "string" ? (raw as RawRef) : undefined;
};

/** The index entry of `record`, whose line is `len` bytes at `off` (0 where there is no file). */
export const entryOf = (record: LogRecord, off: number, len: number): LogEntry => ({
  seq: record.seq,
  ts: record.ts,
  type: record.type,
  from: record.from,
  ids: record.ids,
  off,
  len,
  refs: 0,
  ...(rawOf(record.data) === undefined ? {} : { raw: (rawOf(record.data) as RawRef).file }),
});
