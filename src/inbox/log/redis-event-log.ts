import { setTimeout as sleep } from "node:timers/promises";
import type { MailEventsError } from "../../errors.js";
import type { Logger } from "../../log.js";
import {
  RedisConnection,
  type RedisConnectionOptions,
  type RedisSpec,
} from "../../store/redis-connection.js";
import type { Received } from "../smtp/spool.js";
import type { AppendInput, InboxLog } from "./inbox-log.js";
import { type LogRecord, seqOfEventId } from "./log-format.js";
import { type LogEntry, LogIndex, type Retention } from "./log-index.js";
import { linesOf } from "./recent-lines.js";
import { StoreHealth } from "./redis-log-health.js";
import { appendMail, loadStream, lostEpoch, readLines, readRaw } from "./redis-log-io.js";
import { CLEAR, type LogKeys, logKeys } from "./redis-log-scripts.js";
import { RedisLogTrim } from "./redis-log-trim.js";
import { StreamView } from "./redis-log-view.js";
import { StreamWaits } from "./redis-log-waits.js";
import { type StreamEntry, StreamTailer, tailConnection } from "./redis-tailer.js";
import { Waiters } from "./waiters.js";

/** How often an inbox whose store did not answer at start tries to open its log again. */
const OPEN_RETRY_MS = 500;

export interface RedisEventLogOptions {
  spec: RedisSpec;
  log: Logger;
  retention?: Partial<Retention>;
  now?: () => number;
  /** Prefix of the log's keys (default `mail-events:`, as the cursor store's). */
  prefix?: string;
  connection?: RedisConnectionOptions;
}

/**
 * The inbox's log in Redis Streams (SPEC §9): one log for every inbox on the store. A mail's
 * raw message and its stream entry are written by one script, which also hands out the seq,
 * so seqs are unique and increasing across processes and nothing is half stored. Each
 * process keeps the same in-memory index as the file log, fed by a tailer that follows the
 * stream, and applies the same retention; what retention or a clear drops is deleted from
 * the store (raw message, entry, and the stream trimmed to the oldest live entry).
 */
export class RedisEventLog implements InboxLog {
  #view: StreamView;
  readonly #keys: LogKeys;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #commands: RedisConnection;
  #tailConnection: RedisConnection;
  readonly #newTailConnection: () => RedisConnection;
  readonly #newIndex: () => LogIndex;
  #reopening: Promise<void> | undefined;
  /** Set once the log is open and followed. */
  #tailer: StreamTailer | undefined;
  #opening: Promise<void> | undefined;
  readonly #trim: RedisLogTrim;
  #closed = false;
  readonly #health: StoreHealth;
  readonly #waiters = new Waiters();
  readonly #waits = new StreamWaits();
  readonly #inflight = new Set<Promise<unknown>>();

  private constructor(options: RedisEventLogOptions) {
    this.#keys = logKeys(options.prefix ?? "mail-events:");
    this.#log = options.log;
    this.#health = new StoreHealth(options.log);
    this.#now = options.now ?? Date.now;
    this.#newIndex = () =>
      new LogIndex({
        perIdentity: options.retention?.perIdentity ?? 10_000,
        total: options.retention?.total ?? 100_000,
      });
    this.#view = new StreamView(this.#newIndex());
    this.#commands = new RedisConnection(options.spec, options.log, options.connection);
    this.#newTailConnection = () => tailConnection(options.spec, options.connection);
    this.#tailConnection = this.#newTailConnection();
    this.#trim = new RedisLogTrim(this.#commands, this.#keys, () => this.#view.index, options.log);
  }

  get index(): LogIndex {
    return this.#view.index;
  }

  /**
   * Opens the store's log (creating its epoch if it has none) and reads it into the index.
   * A store that does not answer yet is retried in the background: until it does, mail is
   * refused with a 451 and requests with STORE_UNAVAILABLE, as during any outage.
   */
  static async open(options: RedisEventLogOptions): Promise<RedisEventLog> {
    const log = new RedisEventLog(options);
    try {
      await log.#load();
    } catch (error) {
      log.#health.set(error as MailEventsError);
      log.#opening = log.#retryOpen();
    }
    return log;
  }

  async #retryOpen(): Promise<void> {
    while (!this.#closed) {
      await sleep(OPEN_RETRY_MS);
      if (this.#closed) return;
      try {
        await this.#load();
        this.#health.set(undefined);
        return;
      } catch (error) {
        this.#health.set(error as MailEventsError);
      }
    }
  }

  get epoch(): string {
    return this.#view.epoch;
  }

  get lastSeq(): number {
    return this.#view.lastSeq;
  }

  get waiting(): number {
    return this.#waiters.count;
  }

  get closed(): boolean {
    return this.#closed;
  }

  seqOf(id: string): number | undefined {
    return seqOfEventId(this.#view.epoch, id);
  }

  checkAvailable(): void {
    this.#health.check();
  }

  subscribe(identity: string, wake: () => void): () => void {
    return this.#waiters.add(identity, wake);
  }

  async read(entries: readonly LogEntry[]): Promise<LogRecord[]> {
    const lines = await linesOf(entries, this.#view.recent, (missing) =>
      readLines(this.#commands, this.#keys, missing),
    );
    const out: LogRecord[] = [];
    for (const line of lines)
      if (line !== undefined) out.push(JSON.parse(line.toString("utf8")) as LogRecord);
    return out;
  }

  async rawMessage(id: string): Promise<Buffer | undefined> {
    const seq = this.seqOf(id);
    const raw = seq === undefined ? undefined : this.#view.index.find(seq)?.raw;
    if (raw === undefined) return undefined;
    return readRaw(this.#commands, this.#keys, raw);
  }

  storeMail(input: AppendInput, message: Received): Promise<LogRecord> {
    if (this.#closed) return Promise.reject(new Error("the local inbox is shutting down"));
    const refusal = this.#health.refusal(this.#tailer !== undefined);
    if (refusal) return Promise.reject(refusal);
    const stored = this.#store(input, message);
    this.#inflight.add(stored);
    return stored.finally(() => this.#inflight.delete(stored));
  }

  async #store(input: AppendInput, message: Received): Promise<LogRecord> {
    const at = { epoch: this.#view.epoch, now: this.#now(), floor: this.#view.lastSeq };
    const record = await appendMail(this.#commands, this.#keys, at, input, message).catch(
      (error: unknown) => {
        this.#health.failed(error);
        if (lostEpoch(error)) void this.#startOver();
        throw error;
      },
    );
    await this.#waits.visible(record.seq, this.#view.lastSeq);
    return record;
  }

  async clear(identity: string): Promise<number> {
    if (this.#closed) throw new Error("the local inbox is shutting down");
    const refusal = this.#health.refusal(this.#tailer !== undefined);
    if (refusal) throw refusal;
    const k = this.#keys;
    const id = (await this.#commands
      .run("the local inbox could not clear mail", (client) =>
        client.eval(CLEAR, 3, k.meta, k.seq, k.stream, this.#view.epoch, identity),
      )
      .catch((error: unknown) => {
        if (lostEpoch(error)) void this.#startOver();
        throw error;
      })) as string;
    return this.#waits.cleared(id, identity);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    this.#waiters.wakeAll();
    await this.#reopening;
    await this.#opening;
    if (this.#tailer === undefined) await this.#tailConnection.close();
    else await this.#tailer.stop();
    await this.#trim.settled();
    await this.#commands.close();
  }

  async #load(): Promise<void> {
    // Drops while reading too: what an inbox missed deleting (Redis was down) goes now.
    this.#view.index.onDrop = (entry) => this.#trim.drop(entry);
    const { upTo, after } = await loadStream(this.#commands, this.#keys, this.#now(), (entries, epoch) => {
      this.#view.epoch = epoch;
      this.#apply(entries, false);
    });
    this.#view.lastSeq = Math.max(this.#view.lastSeq, upTo);
    const tailer = new StreamTailer({
      connection: this.#tailConnection,
      stream: this.#keys.stream,
      after,
      onEntries: (entries) => this.#apply(entries, true),
      onState: (error) => this.#health.set(error),
    });
    this.#tailer = tailer;
    tailer.start();
  }

  /**
   * The store no longer holds this log (Redis restarted without its data, or the keys were
   * deleted): starts a new log under a new epoch, as the file log does when its file is
   * lost, so cursors of the old one start over. Seqs go on above the old ones.
   */
  #startOver(): Promise<void> {
    this.#reopening ??= (async () => {
      this.#log.warn(
        `local inbox: the store ${this.#commands.spec.shown} no longer holds the log of epoch ${this.#view.epoch} (Redis lost its data, or its keys were deleted): that mail is lost; starting a new log — give Redis persistence (appendonly yes)`,
      );
      const old = this.#tailer;
      this.#tailer = undefined;
      await old?.stop();
      if (this.#closed) return;
      this.#tailConnection = this.#newTailConnection();
      this.#view = new StreamView(this.#newIndex(), this.#view.lastSeq);
      this.#waiters.wakeAll();
      await this.#load().catch((error: MailEventsError) => {
        this.#health.set(error);
        this.#opening = this.#retryOpen();
      });
    })().finally(() => {
      this.#reopening = undefined;
    });
    return this.#reopening;
  }

  /** Feeds stream entries to the view; live ones wake readers and writers. */
  #apply(entries: StreamEntry[], live: boolean): void {
    const { woken, cleared, foreign } = this.#view.apply(entries, live);
    // Another inbox found the store's log gone and started a new one: follow it there.
    if (foreign && live) void this.#startOver();
    if (!live) return;
    for (const [id, count] of cleared) this.#waits.applied(id, count);
    this.#waiters.wake(woken);
    this.#waits.reached(this.#view.lastSeq);
  }
}
