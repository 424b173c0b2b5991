import type { Logger } from "../../log.js";
import type { RedisConnection } from "../../store/redis-connection.js";
import type { LogEntry, LogIndex } from "./log-index.js";
import type { LogKeys } from "./redis-log-scripts.js";

/** Dead entries kept in the index's seq list before it is rebuilt without them. */
const MIN_DEAD_BYTES = 1024 * 1024;

/**
 * Deletes from the store what retention or a clear dropped from the index: each entry and
 * its raw message, then `XTRIM MINID` to the oldest entry still live, which also takes old
 * clear markers. Every inbox on the store applies the same retention to the same stream,
 * so each computes the same drops; the deletes are idempotent. Batched per tick.
 */
export class RedisLogTrim {
  readonly #connection: RedisConnection;
  readonly #keys: LogKeys;
  /** The index now (a log that starts over under a new epoch gets a new one). */
  readonly #index: () => LogIndex;
  readonly #log: Logger;
  #pending: LogEntry[] = [];
  #scheduled = false;
  #running: Promise<void> = Promise.resolve();
  #warned = false;

  constructor(connection: RedisConnection, keys: LogKeys, index: () => LogIndex, log: Logger) {
    this.#connection = connection;
    this.#keys = keys;
    this.#index = index;
    this.#log = log;
  }

  drop(entry: LogEntry): void {
    this.#pending.push(entry);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends the drops gathered so far (the index's own bookkeeping is done at once). */
  flush(): void {
    this.#scheduled = false;
    const drops = this.#pending;
    this.#pending = [];
    if (drops.length === 0) return;
    const index = this.#index();
    // Nothing reads dead entries; the file log drops them at compaction, this log here.
    if (index.deadBytes >= Math.max(MIN_DEAD_BYTES, index.liveBytes)) index.compacted(index.live());
    const oldest = index.oldestLive();
    const { stream } = this.#keys;
    this.#running = this.#running.then(() =>
      this.#connection
        .run("the local inbox could not trim its log", async (client) => {
          const pipeline = client.pipeline();
          for (let i = 0; i < drops.length; i += 500) {
            const batch = drops.slice(i, i + 500);
            pipeline.xdel(stream, ...batch.map((e) => `${e.seq}-0`));
            const raws = batch.flatMap((e) => (e.raw === undefined ? [] : [this.#keys.message(e.raw)]));
            if (raws.length > 0) pipeline.del(...raws);
          }
          if (oldest !== undefined) pipeline.xtrim(stream, "MINID", `${oldest}-0`);
          await pipeline.exec();
        })
        .then(
          () => {
            this.#warned = false;
          },
          (error: Error) => {
            // The next drop trims up to its own oldest; an inbox that opens later drops them again.
            if (!this.#warned) this.#log.warn(`${error.message}; old mail stays in the store for now`);
            this.#warned = true;
          },
        ),
    );
  }

  /** Resolves once the deletes sent so far are done (or failed). */
  settled(): Promise<void> {
    this.flush();
    return this.#running;
  }
}
