import { setTimeout as sleep } from "node:timers/promises";
import type { MailEventsError } from "../../errors.js";
import type { Logger } from "../../log.js";
import {
  RedisConnection,
  type RedisConnectionOptions,
  type RedisSpec,
} from "../../store/redis-connection.js";

/** One stream entry as XREAD and XRANGE answer it: its id and its fields, flat. */
export type StreamEntry = [id: string, fields: string[]];

/** How long one XREAD blocks; the connection's command timeout must be longer. */
export const BLOCK_MS = 1_000;
const BATCH = 500;
const RETRY_MS = 100;

/**
 * A connection for a tailer: its command timeout outlasts a blocking read, and it is quiet
 * (its warnings would repeat the command connection's; the log says when reads fail).
 */
export function tailConnection(spec: RedisSpec, options: RedisConnectionOptions = {}): RedisConnection {
  const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
  return new RedisConnection(spec, quiet, {
    ...options,
    commandTimeoutMs: BLOCK_MS + (options.commandTimeoutMs ?? 2_000),
  });
}

export interface TailerOptions {
  /** A connection of its own: a blocking read would hold up every command behind it. */
  connection: RedisConnection;
  stream: string;
  /** Follow from after this entry id. */
  after: string;
  /** Entries in stream order, as they arrive. */
  onEntries(entries: StreamEntry[]): void;
  /** Undefined once a read succeeded; the failure while reads fail. */
  onState(error: MailEventsError | undefined): void;
}

/**
 * Follows the log's stream with `XREAD BLOCK` on its own connection, so an append by any
 * inbox on the store reaches this one's index and waiters as soon as Redis has it. A failed
 * read (Redis down, frozen, restarting) is retried from the last entry seen, so the index
 * catches up by itself once Redis answers again.
 */
export class StreamTailer {
  readonly #options: TailerOptions;
  #after: string;
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(options: TailerOptions) {
    this.#options = options;
    this.#after = options.after;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    const { connection, stream, onEntries, onState } = this.#options;
    while (!this.#stopped) {
      try {
        const reply = (await connection.run("the local inbox cannot follow its log", (client) =>
          client.xread("COUNT", BATCH, "BLOCK", BLOCK_MS, "STREAMS", stream, this.#after),
        )) as [string, StreamEntry[]][] | null;
        if (this.#stopped) return;
        onState(undefined);
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        this.#after = (entries[entries.length - 1] as StreamEntry)[0];
        onEntries(entries);
      } catch (error) {
        if (this.#stopped) return;
        onState(error as MailEventsError);
        await sleep(RETRY_MS);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#options.connection.close();
    await this.#loop;
  }
}
