import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";
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

/** The open file; reads pin it so a compaction can swap files under them safely. */
interface Segment {
  handle: FileHandle;
  readers: number;
  retired: boolean;
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
  #segment!: Segment;
  #size = 0;
  #lastSeq = 0;
  #lastTs = 0;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  readonly #waiters = new Map<string, Set<() => void>>();
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
    const wanted: { i: number; off: number; len: number }[] = [];
    entries.forEach((entry, i) => {
      const cached = this.#recent.get(entry.seq);
      if (cached) out[i] = cached;
      else wanted.push({ i, off: entry.off, len: entry.len }); // offsets captured before any await
    });
    if (wanted.length === 0) return out;
    const segment = this.#segment;
    segment.readers++;
    try {
      wanted.sort((a, b) => a.off - b.off);
      // Neighbouring lines are read in one call: a page of `*` is one contiguous range.
      for (let g = 0; g < wanted.length; ) {
        const first = wanted[g] as (typeof wanted)[number];
        let end = g + 1;
        let stop = first.off + first.len;
        for (; end < wanted.length; end++) {
          const next = wanted[end] as (typeof wanted)[number];
          if (next.off - stop > 65_536 || next.off + next.len - first.off > 8 * 1024 * 1024) break;
          stop = Math.max(stop, next.off + next.len);
        }
        const buffer = Buffer.allocUnsafe(stop - first.off);
        await segment.handle.read(buffer, 0, buffer.length, first.off);
        for (; g < end; g++) {
          const w = wanted[g] as (typeof wanted)[number];
          const at = w.off - first.off;
          out[w.i] = buffer.subarray(at, at + w.len);
        }
      }
    } finally {
      segment.readers--;
      if (segment.retired && segment.readers === 0) void segment.handle.close().catch(() => {});
    }
    return out;
  }

  /** Calls `wake` after the next append that `identity` can see (or on close); returns unsubscribe. */
  subscribe(identity: string, wake: () => void): () => void {
    let set = this.#waiters.get(identity);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(identity, set);
    }
    set.add(wake);
    return () => {
      const current = this.#waiters.get(identity);
      current?.delete(wake);
      if (current?.size === 0) this.#waiters.delete(identity);
    };
  }

  /** Readers parked until an append (long-polls and live streams), for health and tests. */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops new appends, finishes those in flight, wakes every reader, closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushing;
    for (const set of this.#waiters.values()) for (const wake of set) wake();
    this.#waiters.clear();
    this.#segment.retired = true;
    if (this.#segment.readers === 0) await this.#segment.handle.close();
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    for (const name of await readdir(this.#dir)) {
      if (name.startsWith(`${FILE}.compact-`)) await unlink(join(this.#dir, name)).catch(() => {});
    }
    let handle: FileHandle;
    try {
      handle = await open(this.#path, "r+");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      handle = await this.#create(this.#path);
      this.#segment = { handle, readers: 0, retired: false };
      await syncDir(this.#dir);
      this.#size = (await handle.stat()).size;
      return;
    }
    this.#segment = { handle, readers: 0, retired: false };
    const { header, size } = await scanLog(
      handle,
      (record, off, len) => {
        this.#lastSeq = record.seq;
        this.#lastTs = Math.max(this.#lastTs, record.ts);
        this.index.add({ ...this.#entryOf(record, len), off });
      },
      this.#log,
    );
    this.#size = size;
    if (header) this.#header = header;
    // A log without its header line (hand-edited, or cut short) gets one by a rewrite.
    if (header === undefined && size > 0) await this.#compact();
    else if (size === 0) await this.#writeAt(Buffer.from(`${JSON.stringify(this.#header)}\n`), 0);
  }

  async #create(path: string): Promise<FileHandle> {
    const handle = await open(path, "wx+");
    await handle.write(Buffer.from(`${JSON.stringify(this.#header)}\n`), 0, undefined, 0);
    await handle.sync();
    return handle;
  }

  async #writeAt(buffer: Buffer, position: number): Promise<void> {
    await this.#segment.handle.write(buffer, 0, buffer.length, position);
    await this.#segment.handle.datasync();
    this.#size = position + buffer.length;
  }

  #entryOf(record: LogRecord, len: number): LogEntry {
    return {
      seq: record.seq,
      ts: record.ts,
      type: record.type,
      from: record.from,
      ids: record.ids,
      off: 0,
      len,
      refs: 0,
    };
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      const start = this.#size;
      try {
        await this.#writeAt(Buffer.concat(batch.map((p) => p.line)), start);
      } catch (error) {
        // Nothing in this batch was acknowledged: cut the file back so no half line remains.
        await this.#segment.handle.truncate(start).catch(() => {});
        this.#size = start;
        const reason = (error as Error).message;
        this.#log.error(`local inbox: could not write the log in ${this.#dir}: ${reason}`);
        for (const p of batch) p.reject(new Error(`the local inbox could not store the message (${reason})`));
        continue;
      }
      let off = start;
      const woken = new Set<string>();
      for (const p of batch) {
        this.index.add({ ...this.#entryOf(p.record, p.line.length), off });
        off += p.line.length;
        this.#remember(p.record.seq, p.line);
        for (const id of p.record.ids) woken.add(id);
      }
      for (const p of batch) p.resolve(p.record);
      for (const id of woken) {
        const set = this.#waiters.get(id);
        if (set) for (const wake of [...set]) wake();
      }
      if (this.index.deadBytes >= Math.max(this.#compactMinBytes, this.index.liveBytes))
        await this.#compact();
    }
  }

  #remember(seq: number, line: Buffer): void {
    this.#recent.set(seq, line);
    if (this.#recent.size > RECENT_COUNT) this.#recent.delete(this.#recent.keys().next().value as number);
  }

  /**
   * Rewrites the log with only live records (temp file, fsync, rename, fsync dir), so a
   * crash at any instant leaves either the old log or the new one, never a mix.
   */
  async #compact(): Promise<void> {
    const live = this.index.live();
    const temp = join(this.#dir, `${FILE}.compact-${process.pid}-${randomBytes(4).toString("hex")}`);
    const offsets: number[] = [];
    let handle: FileHandle | undefined;
    try {
      handle = await this.#create(temp);
      let size = (await handle.stat()).size;
      for (let i = 0; i < live.length; i += 500) {
        const slice = live.slice(i, i + 500);
        const lines = await this.#lines(slice); // copied verbatim: offsets and lengths stay exact
        const buffer = Buffer.concat(lines);
        for (const line of lines) {
          offsets.push(size);
          size += line.length;
        }
        await handle.write(buffer, 0, buffer.length, size - buffer.length);
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, this.#path);
      await syncDir(this.#dir);
      const next = await open(this.#path, "r+");
      const old = this.#segment;
      this.#segment = { handle: next, readers: 0, retired: false };
      old.retired = true;
      if (old.readers === 0) await old.handle.close();
      live.forEach((entry, i) => {
        entry.off = offsets[i] as number;
      });
      this.index.compacted(live);
      this.#size = size;
    } catch (error) {
      this.#log.warn(
        `local inbox: compaction failed, the log keeps growing for now: ${(error as Error).message}`,
      );
      await handle?.close().catch(() => {});
      await unlink(temp).catch(() => {});
    }
  }
}
