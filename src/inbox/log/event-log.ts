import { join } from "node:path";
import type { Logger } from "../../log.js";
import type { Received } from "../smtp/spool.js";
import { storeInFiles } from "./file-mail.js";
import { GroupCommit } from "./group-commit.js";
import type { AppendInput, InboxLog } from "./inbox-log.js";
import { rewriteLog } from "./log-compaction.js";
import { entryOf } from "./log-entry.js";
import { LogFile } from "./log-file.js";
import { eventId, type LogHeader, type LogRecord, newHeader, seqOfEventId } from "./log-format.js";
import { type LogEntry, LogIndex, type Retention } from "./log-index.js";
import { openLog, prepareLogDir } from "./log-open.js";
import { MessageStore } from "./message-store.js";
import { linesOf, RecentLines } from "./recent-lines.js";
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

export type { AppendInput } from "./inbox-log.js";

interface Pending {
  record: LogRecord;
  line: Buffer;
  resolve: (record: LogRecord) => void;
  reject: (error: Error) => void;
}

const FILE = "events.jsonl";

/**
 * The inbox's durable, append-only log: one JSON line per mail. An append resolves only once
 * its line is fsynced; appends that arrive while a sync runs share the next one (group
 * commit), which is what lets a sink that acknowledges durably still take hundreds of mails
 * a second. Retention is applied in memory at once and on disk by an atomic rewrite.
 */
export class EventLog implements InboxLog {
  readonly #dir: string;
  readonly #path: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #compactMinBytes: number;
  readonly index: LogIndex;
  /** The raw messages the records refer to (`data.raw`), under `messages/`. */
  readonly messages: MessageStore;
  /** Where large incoming messages are written while they arrive. */
  readonly spoolDir: string;
  #header: LogHeader = newHeader();
  #file!: LogFile;
  #lastSeq = 0;
  #lastTs = 0;
  readonly #commits = new GroupCommit<Pending>((batch) => this.#write(batch));
  #closed = false;
  readonly #waiters = new Waiters();
  readonly #recent = new RecentLines();

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
    this.messages = new MessageStore(join(options.dir, "messages"));
    this.spoolDir = join(options.dir, "spool");
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

  /**
   * The original bytes of the message behind event `id` (of this epoch), or undefined when
   * the id is unknown, retention dropped it, or it was stored without its raw message.
   */
  async rawMessage(id: string): Promise<Buffer | undefined> {
    const seq = this.seqOf(id);
    const raw = seq === undefined ? undefined : this.index.find(seq)?.raw;
    return raw === undefined ? undefined : this.messages.read(raw);
  }

  /** Stores the raw message under `messages/`, then appends its event (see `storeInFiles`). */
  storeMail(input: AppendInput, message: Received): Promise<LogRecord> {
    return storeInFiles(this, input, message);
  }

  /** A file log is there as long as its process is. */
  checkAvailable(): void {}

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
    return new Promise((resolve, reject) => this.#commits.push({ record, line, resolve, reject }));
  }

  /**
   * Clears `identity`'s mail (`*`: all) and rewrites the log without it, so it stays gone
   * after a restart. Runs in the append queue's place; the header keeps the highest seq, so
   * no seq is ever handed out again and every cursor stays valid. Returns how many went.
   */
  async clear(identity: string): Promise<number> {
    if (this.#closed) throw new Error("the local inbox is shutting down");
    return this.#commits.exclusive(async () => {
      const cleared = this.index.clear(identity);
      if (cleared > 0) {
        this.#header = { ...this.#header, seqFloor: this.#lastSeq };
        await this.#compact();
      }
      return cleared;
    });
  }

  /** Reads the records behind `entries`, in the order given. */
  async read(entries: readonly LogEntry[]): Promise<LogRecord[]> {
    // Offsets are copied in the same tick (`linesOf` calls back at once): a compaction may move them.
    const lines = await linesOf(entries, this.#recent, (missing) =>
      this.#file.read(missing.map(({ off, len }) => ({ off, len }))),
    );
    return lines.map((line) => JSON.parse((line as Buffer).toString("utf8")) as LogRecord);
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
    await this.#commits.settled();
    this.#waiters.wakeAll();
    await this.#file.close();
  }

  async #load(): Promise<void> {
    const lived = await prepareLogDir(this.#dir, FILE, this.messages, this.spoolDir);
    const opened = await openLog(
      this.#path,
      this.#dir,
      lived,
      this.#log,
      (record, off, len) => {
        this.#lastSeq = record.seq;
        this.#lastTs = Math.max(this.#lastTs, record.ts);
        this.index.add(entryOf(record, off, len));
      },
      this.#now,
    );
    // Never below a seq the file held, even on a line that could not be read.
    this.#lastSeq = Math.max(this.#lastSeq, opened.maxSeq, opened.header.seqFloor ?? 0);
    this.#file = new LogFile(opened.handle, opened.size);
    if (opened.newEpoch) {
      await this.#compact(opened.header);
    } else {
      this.#header = opened.header;
    }
    const keep = new Set<string>();
    for (const entry of this.index.live()) if (entry.raw !== undefined) keep.add(entry.raw);
    await this.messages.sweep(keep, opened.newEpoch ? `${opened.aside}.messages` : undefined);
    // From now on a record retention lets go of takes its raw message with it.
    this.index.onDrop = (entry) => {
      if (entry.raw !== undefined) void this.messages.remove(entry.raw);
    };
  }

  /** One group commit: the batch's lines in one write and one fsync, then visible to readers. */
  async #write(batch: Pending[]): Promise<void> {
    let off: number;
    try {
      off = await this.#file.append(Buffer.concat(batch.map((p) => p.line)));
    } catch (error) {
      // Nothing in this batch was acknowledged, and the file was cut back to before it.
      const reason = (error as Error).message;
      this.#log.error(`local inbox: could not write the log in ${this.#dir}: ${reason}`);
      const code = (error as NodeJS.ErrnoException).code;
      for (const p of batch) {
        p.reject(
          Object.assign(new Error(`the local inbox could not store the message (${reason})`), { code }),
        );
      }
      return;
    }
    const woken = new Set<string>();
    for (const p of batch) {
      this.index.add(entryOf(p.record, off, p.line.length));
      off += p.line.length;
      this.#recent.add(p.record.seq, p.line);
      for (const id of p.record.ids) woken.add(id);
    }
    for (const p of batch) p.resolve(p.record);
    this.#waiters.wake(woken);
    const { deadBytes, liveBytes } = this.index;
    if (deadBytes >= Math.max(this.#compactMinBytes, liveBytes)) await this.#compact();
  }

  /**
   * Drops the records retention let go of from the file. Runs between group commits. With
   * `epoch` (a repair at open), every record is rewritten with an event id of that new
   * epoch, which must succeed: the log cannot go on half in one epoch and half in another.
   */
  async #compact(epoch?: LogHeader): Promise<void> {
    const header = epoch ?? this.#header;
    try {
      await rewriteLog(this.#path, this.#file, this.index, header, epoch !== undefined, () => {
        this.#header = header;
      });
    } catch (error) {
      if (epoch !== undefined) throw error;
      this.#log.warn(
        `local inbox: compaction failed, the log keeps growing for now: ${(error as Error).message}`,
      );
    }
  }
}
