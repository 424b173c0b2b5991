import { type FileHandle, mkdir, open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";
import { COMPACT_PREFIX, createLogFile, writeCompacted } from "./log-compaction.js";
import {
  eventId,
  type LogHeader,
  type LogRecord,
  newHeader,
  scanLog,
  seqOfEventId,
  syncDir,
} from "./log-file.js";
import { type LogEntry, LogIndex, type Retention } from "./log-index.js";
import { SegmentFile } from "./segment-file.js";
import { Waiters } from "./waiters.js";

export interface EventLogOptions {
  /** Directory of the log (`${stateDir}/inbox`). */
  dir: string;
  log: Logger;
  retention?: Partial<Retention>;
  /** Dead bytes that trigger a compaction (also needs dead ≥ live). */
  compactMinBytes?: number;
  now?: () => number;
}

export interface AppendInput {
  type: string;
  ids: string[];
  from: string;
  data: Record<string, unknown>;
}

interface Pending {
  record: LogRecord;
  line: Buffer;
  resolve: (record: LogRecord) => void;
  reject: (error: Error) => void;
}

const FILE = "events.jsonl";
const RECENT_COUNT = 512;

/**
 * The inbox's durable, append-only log: one JSON line per mail. An append resolves only once
 * its line is fsynced; appends that arrive while a sync runs share the next one (group
 * commit), which is what lets a sink that acknowledges durably still take hundreds of mails
 * a second. Retention is applied in memory at once and on disk by an atomic rewrite.
 */
export class EventLog {
  readonly #dir: string;
  readonly #path: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #compactMinBytes: number;
  readonly index: LogIndex;
  #header: LogHeader = newHeader();
  #file!: SegmentFile;
  #lastSeq = 0;
  #lastTs = 0;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  readonly #waiters = new Waiters();
  /** Lines just written, so live readers woken by an append skip the disk. */
  readonly #recent = new Map<number, Buffer>();

  private constructor(options: EventLogOptions) {
    this.#dir = options.dir;
    this.#path = join(options.dir, FILE);
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#compactMinBytes = options.compactMinBytes ?? 16 * 1024 * 1024;
    this.index = new LogIndex({
      perIdentity: options.retention?.perIdentity ?? 10_000,
      total: options.retention?.total ?? 100_000,
    });
  }

  /** Opens (or creates) the log and rebuilds the index from it. */
  static async open(options: EventLogOptions): Promise<EventLog> {
    const log = new EventLog(options);
    await log.#load();
    return log;
  }

  get epoch(): string {
    return this.#header.epoch;
  }

  /** Highest seq ever assigned: a live reader starting "now" starts here. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The seq inside one of this log's event ids, or undefined. */
  seqOf(id: string): number | undefined {
    return seqOfEventId(this.#header.epoch, id);
  }

  /** Appends one record; resolves once it is on disk and visible to readers. */
  append(input: AppendInput): Promise<LogRecord> {
    if (this.#closed) return Promise.reject(new Error("the local inbox is shutting down"));
    const seq = ++this.#lastSeq;
    // Timestamps never go backward along the log, so readers can bisect on them.
    this.#lastTs = Math.max(this.#lastTs, this.#now());
    const record: LogRecord = {
      seq,
      id: eventId(this.#header.epoch, seq),
      type: input.type,
      ts: this.#lastTs,
      ids: input.ids,
      from: input.from,
      data: input.data,
    };
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    return new Promise((resolve, reject) => {
      this.#queue.push({ record, line, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    });
  }

  /** Reads the records behind `entries`, in the order given. */
  async read(entries: readonly LogEntry[]): Promise<LogRecord[]> {
    return (await this.#lines(entries)).map((line) => JSON.parse(line.toString("utf8")) as LogRecord);
  }

  /** The raw lines (newline included) behind `entries`, in the order given. */
  async #lines(entries: readonly LogEntry[]): Promise<Buffer[]> {
    const out = new Array<Buffer>(entries.length);
    const missing: number[] = [];
    entries.forEach((entry, i) => {
      const cached = this.#recent.get(entry.seq);
      if (cached) out[i] = cached;
      else missing.push(i);
    });
    if (missing.length === 0) return out;
    // Offsets are copied now, before any await: a compaction may move them.
    const spans = missing.map((i) => ({
      off: (entries[i] as LogEntry).off,
      len: (entries[i] as LogEntry).len,
    }));
    const lines = await this.#file.read(spans);
    missing.forEach((i, k) => {
      out[i] = lines[k] as Buffer;
    });
    return out;
  }

  /** Calls `wake` after the next append that `identity` can see (or on close); returns unsubscribe. */
  subscribe(identity: string, wake: () => void): () => void {
    return this.#waiters.add(identity, wake);
  }

  /** Readers parked until an append (long-polls and live streams), for health and tests. */
  get waiting(): number {
    return this.#waiters.count;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops new appends, finishes those in flight, wakes every reader, closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushing;
    this.#waiters.wakeAll();
    await this.#file.close();
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    for (const name of await readdir(this.#dir)) {
      if (name.startsWith(`${FILE}${COMPACT_PREFIX}`)) await unlink(join(this.#dir, name)).catch(() => {});
    }
    let handle: FileHandle;
    try {
      handle = await open(this.#path, "r+");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      handle = await createLogFile(this.#path, this.#header);
      await syncDir(this.#dir);
      this.#file = new SegmentFile(handle, (await handle.stat()).size);
      return;
    }
    const { header, size } = await scanLog(
      handle,
      (record, off, len) => {
        this.#lastSeq = record.seq;
        this.#lastTs = Math.max(this.#lastTs, record.ts);
        this.index.add(entryOf(record, off, len));
      },
      this.#log,
    );
    this.#file = new SegmentFile(handle, size);
    if (header) this.#header = header;
    // A log without its header line (hand-edited, or cut short) gets one by a rewrite.
    if (header === undefined && size > 0) await this.#compact();
    else if (size === 0) await this.#file.append(Buffer.from(`${JSON.stringify(this.#header)}\n`));
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      let off: number;
      try {
        off = await this.#file.append(Buffer.concat(batch.map((p) => p.line)));
      } catch (error) {
        // Nothing in this batch was acknowledged, and the file was cut back to before it.
        const reason = (error as Error).message;
        this.#log.error(`local inbox: could not write the log in ${this.#dir}: ${reason}`);
        for (const p of batch) p.reject(new Error(`the local inbox could not store the message (${reason})`));
        continue;
      }
      const woken = new Set<string>();
      for (const p of batch) {
        this.index.add(entryOf(p.record, off, p.line.length));
        off += p.line.length;
        this.#remember(p.record.seq, p.line);
        for (const id of p.record.ids) woken.add(id);
      }
      for (const p of batch) p.resolve(p.record);
      this.#waiters.wake(woken);
      const { deadBytes, liveBytes } = this.index;
      if (deadBytes >= Math.max(this.#compactMinBytes, liveBytes)) await this.#compact();
    }
  }

  #remember(seq: number, line: Buffer): void {
    this.#recent.set(seq, line);
    if (this.#recent.size > RECENT_COUNT) this.#recent.delete(this.#recent.keys().next().value as number);
  }

  /** Drops the records retention let go of from the file. Runs between group commits. */
  async #compact(): Promise<void> {
    const live = this.index.live();
    try {
      const { offsets, size } = await writeCompacted(this.#path, this.#header, live, (spans) =>
        this.#file.read(spans),
      );
      await this.#file.swap(this.#path, size, () => {
        live.forEach((entry, i) => {
          entry.off = offsets[i] as number;
        });
        this.index.compacted(live);
      });
    } catch (error) {
      this.#log.warn(
        `local inbox: compaction failed, the log keeps growing for now: ${(error as Error).message}`,
      );
    }
  }
}

const entryOf = (record: LogRecord, off: number, len: number): LogEntry => ({
  seq: record.seq,
  ts: record.ts,
  type: record.type,
  from: record.from,
  ids: record.ids,
  off,
  len,
  refs: 0,
});
