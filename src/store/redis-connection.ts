import type { Redis } from "ioredis";
import { MailEventsError } from "../errors.js";
import type { Logger } from "../log.js";
import type { StoreSpec } from "./store-url.js";

export type RedisSpec = Extract<StoreSpec, { kind: "redis" }>;

export interface RedisConnectionOptions {
  /** Connecting (TCP + handshake) gives up after this long, ms. */
  connectTimeoutMs?: number;
  /** A command with no answer fails after this long, ms: a frozen Redis never hangs a call. */
  commandTimeoutMs?: number;
  /** A call made while reconnecting waits this long for the connection before failing, ms. */
  readyWaitMs?: number;
}

/*
 * Sets `field` of hash KEYS[1] to ARGV[3] only if it still holds ARGV[2] ("" = absent):
 * a compare-and-set, so the merge rules stay in one place (`merge.ts`, `groups.ts`) and run
 * in Node, and a writer that lost the race merges with what won and tries again.
 * Answers {1} when set, else {0, what the field holds ("" = absent)}.
 */
const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current == false then current = '' end
if current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return {1}
end
return {0, current}
`;

/** How long the reconnect backoff may grow: a Redis that is back is used within about this. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * One connection to the Redis store, with ioredis loaded on first use (a file-store server
 * never loads it). Nothing waits forever: connects and commands are bounded, commands are
 * never queued while disconnected (they fail at once with STORE_UNAVAILABLE), and the client
 * reconnects by itself, so calls succeed again as soon as Redis is back.
 */
export class RedisConnection {
  readonly spec: RedisSpec;
  readonly #log: Logger;
  readonly #options: Required<RedisConnectionOptions>;
  readonly #client: Promise<Redis>;
  #lastError: string | undefined;
  #down = false;

  constructor(spec: RedisSpec, log: Logger, options: RedisConnectionOptions = {}) {
    this.spec = spec;
    this.#log = log;
    this.#options = {
      connectTimeoutMs: options.connectTimeoutMs ?? 2_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      readyWaitMs: options.readyWaitMs ?? 1_500,
    };
    this.#client = this.#connect();
    this.#client.catch(() => {});
  }

  async #connect(): Promise<Redis> {
    const loaded = await import("ioredis");
    // A split bundle's chunk of a CommonJS package exports only `default` (module.exports,
    // which ioredis makes its Redis class); Node's own loader also gives the named export.
    const Redis = loaded.Redis ?? (loaded.default as unknown as typeof loaded.Redis);
    const client = new Redis({
      host: this.spec.host,
      port: this.spec.port,
      db: this.spec.db,
      ...(this.spec.username === undefined ? {} : { username: this.spec.username }),
      ...(this.spec.password === undefined ? {} : { password: this.spec.password }),
      connectTimeout: this.#options.connectTimeoutMs,
      commandTimeout: this.#options.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
      lazyConnect: false,
    });
    client.on("error", (error: Error) => {
      this.#lastError = error.message;
      if (this.#down) return;
      this.#down = true;
      this.#log.warn(
        `the store ${this.spec.shown} is unreachable (${error.message}); retrying — check MAIL_EVENTS_STORE`,
      );
    });
    client.on("ready", () => {
      if (this.#down) this.#log.info(`the store ${this.spec.shown} is reachable again`);
      this.#down = false;
      this.#lastError = undefined;
    });
    return client;
  }

  /** Runs `op` on the connection; any failure is STORE_UNAVAILABLE saying `what` failed. */
  async run<T>(what: string, op: (client: Redis) => Promise<T>): Promise<T> {
    let client: Redis;
    try {
      client = await this.#client;
      if (client.status !== "ready") await this.#ready(client);
      return await op(client);
    } catch (error) {
      if (error instanceof MailEventsError) throw error;
      throw this.unavailable(what, error);
    }
  }

  /** A store error: `what` failed against this store, and why. */
  unavailable(what: string, cause: unknown): MailEventsError {
    const reason = this.#lastError ?? (cause as Error)?.message ?? String(cause);
    return new MailEventsError(
      "STORE_UNAVAILABLE",
      `${what}: the store ${this.spec.shown} did not answer (${reason}); check MAIL_EVENTS_STORE (calls resume by themselves once it answers)`,
      { cause },
    );
  }

  /** Compare-and-set of one hash field (see COMPARE_AND_SET): null when set, else what it holds. */
  compareAndSet(client: Redis, key: string, field: string, expected: string, value: string) {
    return (client.eval(COMPARE_AND_SET, 1, key, field, expected, value) as Promise<[number, string?]>).then(
      ([set, current]) => (set === 1 ? null : (current ?? "")),
    );
  }

  #ready(client: Redis): Promise<void> {
    if (client.status === "end") return Promise.reject(new Error("the connection is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off("ready", onReady);
        reject(new Error(this.#lastError ?? `not connected within ${this.#options.readyWaitMs} ms`));
      }, this.#options.readyWaitMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      client.once("ready", onReady);
    });
  }

  async close(): Promise<void> {
    const client = await this.#client.catch(() => undefined);
    if (client === undefined) return;
    // QUIT lets Redis answer what is in flight; a store that is down gets a plain disconnect.
    if (client.status === "ready") {
      await Promise.race([
        client.quit().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 500).unref()),
      ]);
    }
    client.disconnect();
  }
}
