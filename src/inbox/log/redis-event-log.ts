import { MailEventsError } from "../../errors.js";
import type { Logger } from "../../log.js";
import {
  RedisConnection,
  type RedisConnectionOptions,
  type RedisSpec,
} from "../../store/redis-connection.js";
import type { Received } from "../smtp/spool.js";
import type { AppendInput, InboxLog } from "./inbox-log.js";
import { entryOf } from "./log-entry.js";
import { isLogRecord, type LogRecord, newEpoch, seqOfEventId } from "./log-format.js";
import { type LogEntry, LogIndex, type Retention } from "./log-index.js";
import { newMessageName } from "./message-store.js";
import { linesOf, RecentLines } from "./recent-lines.js";
import { APPEND, CLEAR, type LogKeys, logKeys, OPEN } from "./redis-log-scripts.js";
import { RedisLogTrim } from "./redis-log-trim.js";
import { BLOCK_MS, type StreamEntry, StreamTailer } from "./redis-tailer.js";
import { Waiters } from "./waiters.js";

export interface RedisEventLogOptions {
  spec: RedisSpec;
  log: Logger;
  retention?: Partial<Retention>;
  now?: () => number;
  /** Prefix of the log's keys (default `mail-events:`, as the cursor store's). */
  prefix?: string;
  connection?: RedisConnectionOptions;
}

/** Longest an accepted mail waits to show in this process's index before its `250` goes anyway. */
const VISIBLE_WAIT_MS = 2_000;
/** Longest a clear waits for this process to apply it (it is in the store by then). */
const CLEAR_WAIT_MS = 10_000;
const LOAD_BATCH = 1_000;

const seqOfEntryId = (id: string): number => Number(id.slice(0, id.indexOf("-")));

/**
 * The inbox's log in Redis Streams (SPEC §9): one log for every inbox on the store. A mail's
 * raw message and its stream entry are written by one script, which also hands out the seq,
 * so seqs are unique and increasing across processes and nothing is half stored. Each
 * process keeps the same in-memory index as the file log, fed by a tailer that follows the
 * stream, and applies the same retention; what retention or a clear drops is deleted from
 * the store (raw message, entry, and the stream trimmed to the oldest live entry).
 */
export class RedisEventLog implements InboxLog {
  readonly index: LogIndex;
  readonly #keys: LogKeys;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #commands: RedisConnection;
  readonly #tailConnection: RedisConnection;
  #tailer!: StreamTailer;
  readonly #trim: RedisLogTrim;
  #epoch = "";
  #lastSeq = 0;
  #closed = false;
  #down: MailEventsError | undefined;
  readonly #waiters = new Waiters();
  readonly #recent = new RecentLines();
  #visible: { seq: number; resolve: () => void }[] = [];
  /** Clears applied by the tailer, by entry id, until their caller collects the count. */
  readonly #cleared = new Map<string, number>();
  readonly #clearWaiters = new Map<string, (count: number) => void>();
  readonly #inflight = new Set<Promise<unknown>>();

  private constructor(options: RedisEventLogOptions) {
    this.#keys = logKeys(options.prefix ?? "mail-events:");
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.index = new LogIndex({
      perIdentity: options.retention?.perIdentity ?? 10_000,
      total: options.retention?.total ?? 100_000,
    });
    this.#commands = new RedisConnection(options.spec, options.log, options.connection);
    // Its own warnings would repeat the command connection's; the log says when reads fail.
    const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
    this.#tailConnection = new RedisConnection(options.spec, quiet, {
      ...options.connection,
      commandTimeoutMs: BLOCK_MS + (options.connection?.commandTimeoutMs ?? 2_000),
    });
    this.#trim = new RedisLogTrim(this.#commands, this.#keys, this.index, options.log);
  }

  /** Opens the store's log (creating its epoch if it has none) and reads it into the index. */
  static async open(options: RedisEventLogOptions): Promise<RedisEventLog> {
    const log = new RedisEventLog(options);
    try {
      await log.#load();
    } catch (error) {
      await log.#commands.close();
      await log.#tailConnection.close();
      throw error;
    }
    return log;
  }

  get epoch(): string {
    return this.#epoch;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get waiting(): number {
    return this.#waiters.count;
  }

  get closed(): boolean {
    return this.#closed;
  }

  seqOf(id: string): number | undefined {
    return seqOfEventId(this.#epoch, id);
  }

  checkAvailable(): void {
    if (this.#down !== undefined) throw this.#down;
  }

  subscribe(identity: string, wake: () => void): () => void {
    return this.#waiters.add(identity, wake);
  }

  async read(entries: readonly LogEntry[]): Promise<LogRecord[]> {
    const lines = await linesOf(entries, this.#recent, (missing) =>
      this.#commands.run("the local inbox could not read its log", async (client) => {
        const pipeline = client.pipeline();
        for (const entry of missing) pipeline.xrange(this.#keys.stream, `${entry.seq}-0`, `${entry.seq}-0`);
        const replies = (await pipeline.exec()) ?? [];
        return replies.map(([error, reply]) => {
          if (error) throw error;
          const text = (reply as StreamEntry[])[0]?.[1][1];
          return text === undefined ? undefined : Buffer.from(text);
        });
      }),
    );
    const out: LogRecord[] = [];
    for (const line of lines)
      if (line !== undefined) out.push(JSON.parse(line.toString("utf8")) as LogRecord);
    return out;
  }

  async rawMessage(id: string): Promise<Buffer | undefined> {
    const seq = this.seqOf(id);
    const raw = seq === undefined ? undefined : this.index.find(seq)?.raw;
    if (raw === undefined) return undefined;
    const bytes = await this.#commands.run("the local inbox could not read a stored message", (client) =>
      client.getBuffer(this.#keys.message(raw)),
    );
    return bytes ?? undefined;
  }

  storeMail(input: AppendInput, message: Received): Promise<LogRecord> {
    if (this.#closed) return Promise.reject(new Error("the local inbox is shutting down"));
    const stored = this.#store(input, message);
    this.#inflight.add(stored);
    return stored.finally(() => this.#inflight.delete(stored));
  }

  async #store(input: AppendInput, message: Received): Promise<LogRecord> {
    const file = newMessageName();
    const data = { ...input.data, raw: { file, size: message.size, sha256: message.sha256 } };
    const tail = `,${JSON.stringify({ type: input.type, ids: input.ids, from: input.from, data }).slice(1)}`;
    const bytes = await message.bytes();
    const k = this.#keys;
    const [seqText, tsText] = (await this.#commands
      .run("the local inbox could not store the message", (client) =>
        client.eval(
          APPEND,
          5,
          k.meta,
          k.seq,
          k.ts,
          k.stream,
          k.message(file),
          this.#epoch,
          this.#now(),
          this.#lastSeq,
          tail,
          bytes,
        ),
      )
      .catch((error: unknown) => {
        this.#down ??= error as MailEventsError;
        throw error;
      })) as [string, string];
    const seq = Number(seqText);
    await this.#visibleAt(seq);
    return {
      seq,
      id: `evt_${this.#epoch}_${seq}`,
      ts: Number(tsText),
      type: input.type,
      ids: input.ids,
      from: input.from,
      data,
    };
  }

  /** Resolves once the tailer has indexed `seq`, so a reader right after the `250` sees it. */
  #visibleAt(seq: number): Promise<void> {
    if (this.#lastSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, VISIBLE_WAIT_MS);
      const waiter = { seq, resolve: done };
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#visible.push(waiter);
    });
  }

  async clear(identity: string): Promise<number> {
    if (this.#closed) throw new Error("the local inbox is shutting down");
    const k = this.#keys;
    const id = (await this.#commands.run("the local inbox could not clear mail", (client) =>
      client.eval(CLEAR, 3, k.meta, k.seq, k.stream, this.#epoch, identity),
    )) as string;
    const applied = this.#cleared.get(id);
    if (applied !== undefined) {
      this.#cleared.delete(id);
      return applied;
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#clearWaiters.delete(id);
        reject(
          new MailEventsError(
            "STORE_UNAVAILABLE",
            `the clear of ${identity} is in the store but this inbox has not read it back within ${CLEAR_WAIT_MS / 1000} s; check MAIL_EVENTS_STORE`,
          ),
        );
      }, CLEAR_WAIT_MS);
      this.#clearWaiters.set(id, (count) => {
        clearTimeout(timer);
        resolve(count);
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    this.#waiters.wakeAll();
    await this.#tailer?.stop();
    await this.#trim.settled();
    await this.#commands.close();
  }

  async #load(): Promise<void> {
    const k = this.#keys;
    const [epoch, counter] = (await this.#commands.run("the local inbox could not open its log", (client) =>
      client.eval(OPEN, 2, k.meta, k.seq, newEpoch(this.#now()), new Date(this.#now()).toISOString()),
    )) as [string, string];
    this.#epoch = epoch;
    // Every seq up to the counter is in the stream already or gone: read up to it, follow after.
    const upTo = Number(counter);
    let after = `${upTo}-0`;
    for (let start = "-"; ; ) {
      const entries = (await this.#commands.run("the local inbox could not read its log", (client) =>
        client.xrange(k.stream, start, String(upTo), "COUNT", LOAD_BATCH),
      )) as StreamEntry[];
      this.#apply(entries, false);
      if (entries.length < LOAD_BATCH) break;
      const last = (entries[entries.length - 1] as StreamEntry)[0];
      start = `(${last}`;
      if (seqOfEntryId(last) === upTo) after = last;
    }
    this.#lastSeq = Math.max(this.#lastSeq, upTo);
    this.index.onDrop = (entry) => this.#trim.drop(entry);
    this.#trim.flush();
    this.#tailer = new StreamTailer({
      connection: this.#tailConnection,
      stream: k.stream,
      after,
      onEntries: (entries) => this.#apply(entries, true),
      onState: (error) => this.#state(error),
    });
    this.#tailer.start();
  }

  #state(error: MailEventsError | undefined): void {
    if (error === undefined) {
      if (this.#down !== undefined) this.#log.info("local inbox: following its log in the store again");
      this.#down = undefined;
      return;
    }
    if (this.#down === undefined) this.#log.warn(error.message);
    this.#down = error;
  }

  /** Feeds stream entries to the index in order: mails are added, clears applied. */
  #apply(entries: StreamEntry[], live: boolean): void {
    const woken = new Set<string>();
    for (const [id, fields] of entries) {
      const seq = seqOfEntryId(id);
      if (fields[0] === "c" && typeof fields[1] === "string") {
        const count = this.index.clear(fields[1]);
        const waiter = this.#clearWaiters.get(id);
        this.#clearWaiters.delete(id);
        if (waiter) waiter(count);
        else if (live) this.#remember(id, count);
      } else if (fields[0] === "r" && typeof fields[1] === "string") {
        const record = parseRecord(fields[1]);
        if (record !== undefined && record.seq === seq && record.id === `evt_${this.#epoch}_${seq}`) {
          this.index.add(entryOf(record, 0, fields[1].length));
          if (live) this.#recent.add(seq, Buffer.from(fields[1]));
          for (const identity of record.ids) woken.add(identity);
        }
      }
      this.#lastSeq = Math.max(this.#lastSeq, seq);
    }
    if (!live) return;
    this.#waiters.wake(woken);
    if (this.#visible.length > 0) {
      const ready = this.#visible.filter((w) => w.seq <= this.#lastSeq);
      this.#visible = this.#visible.filter((w) => w.seq > this.#lastSeq);
      for (const w of ready) w.resolve();
    }
  }

  /** A clear the tailer applied before its caller heard back from the store (kept briefly). */
  #remember(id: string, count: number): void {
    this.#cleared.set(id, count);
    if (this.#cleared.size > 100) this.#cleared.delete(this.#cleared.keys().next().value as string);
  }
}

function parseRecord(text: string): LogRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isLogRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
