import { type Logger, silentLogger } from "../log.js";
import type { NormalizedEvent } from "../mail/event.js";
import type { HttpClient } from "./http-client.js";
import type { Cursor, Page, Position, PullRequest, SeekRequest, Source } from "./source.js";
import { isTimeCursor, parseSseCursor, positionAfter, samePlace, timePosition } from "./sse-position.js";
import { DEFAULT_TUNING, type SseDialect, SseStream, type SseTuning } from "./sse-stream.js";

export interface SseSourceOptions {
  /** Base URL of the hosted API (MAIL_EVENTS_URL). */
  url: string;
  http: HttpClient;
  /** Where skipped frames are reported. Default: silent. */
  log?: Logger;
  /** How long a stream stays open after a pull, waiting for the next one, ms (default 30 s). */
  lingerMs?: number;
  tuning?: Partial<SseTuning>;
}

/** "From now" starts this far back, so a client clock ahead of upstream's loses nothing. */
const NOW_MARGIN_MS = 2_000;

interface Cached {
  stream: SseStream;
  linger: NodeJS.Timeout | undefined;
}

/**
 * A `Source` over an SSE dialect. Each pull continues the identity's stream: when it starts
 * exactly where the previous pull on the same identity and types ended, the connection (and
 * what it buffered since) is reused; otherwise a new connection resumes from `since`. So a
 * pull loop or a chain of `wait_for_email` windows sees every event once, with no gap
 * between calls, while each pull stays correct on its own after a restart.
 */
export class SseSource implements Source {
  readonly kind: "mails" | "molted";
  readonly key: string;
  readonly #dialect: SseDialect & { readonly resumesFromTime: boolean };
  readonly #http: HttpClient;
  readonly #log: Logger;
  readonly #lingerMs: number;
  readonly #tuning: SseTuning;
  readonly #streams = new Map<string, Cached>();
  /** Each delivered event's exact position (with the ids seen before it) for `positionOf`. */
  readonly #positions = new WeakMap<NormalizedEvent, Position>();

  constructor(dialect: SseDialect & { readonly resumesFromTime: boolean }, options: SseSourceOptions) {
    this.#dialect = dialect;
    this.kind = dialect.kind;
    this.key = `${this.kind} ${options.url.replace(/\/+$/, "")}`;
    this.#http = options.http;
    this.#log = options.log ?? silentLogger;
    this.#lingerMs = options.lingerMs ?? 30_000;
    this.#tuning = { ...DEFAULT_TUNING, ...options.tuning };
  }

  async pull(request: PullRequest): Promise<Page> {
    const since = request.since ?? timePosition(Date.now() - NOW_MARGIN_MS);
    const key = `${request.identity}\n${[...request.types].sort().join(",")}`;
    const cached = this.#streams.get(key);
    let stream: SseStream;
    let shared = true;
    if (
      cached &&
      !cached.stream.busy &&
      !cached.stream.closed &&
      request.since !== null &&
      samePlace(cached.stream.delivered, request.since)
    ) {
      stream = cached.stream;
      clearTimeout(cached.linger);
      stream.remember(request.since.seen ?? []);
    } else {
      // A concurrent pull on the same identity gets a private stream, closed when it ends.
      shared = !cached?.stream.busy;
      if (shared) this.#drop(key);
      stream = new SseStream({
        http: this.#http,
        dialect: this.#dialect,
        identity: request.identity,
        types: request.types,
        from: since,
        log: this.#log,
        tuning: this.#tuning,
        positions: this.#positions,
      });
      if (shared) this.#streams.set(key, { stream, linger: undefined });
    }
    try {
      return await stream.take(request);
    } catch (error) {
      stream.close();
      throw error;
    } finally {
      if (!shared || stream.closed) {
        stream.close();
        if (this.#streams.get(key)?.stream === stream) this.#streams.delete(key);
      } else {
        const entry = this.#streams.get(key);
        if (entry?.stream === stream) {
          entry.linger = setTimeout(() => this.#drop(key, stream), this.#lingerMs);
          entry.linger.unref();
        }
      }
    }
  }

  /**
   * Never walks history. mails replays by time, so a stale or missing cursor becomes
   * `since = notBefore`. molted replays only after an event id (≤ 1,000 events): a stored id
   * is resumed from (stale events are then skipped by the caller); with none, the stream
   * starts live and drops anything older than `notBefore`.
   */
  async seek(request: SeekRequest): Promise<Position | null> {
    const { after, notBefore } = request;
    if (after === null) return timePosition(notBefore);
    if (after.order >= notBefore) return after;
    if (!this.#dialect.resumesFromTime && !isTimeCursor(after.cursor)) return after;
    return timePosition(notBefore, after.seen);
  }

  positionOf(event: NormalizedEvent): Position {
    return this.#positions.get(event) ?? positionAfter(event);
  }

  parseCursor(cursor: Cursor): Position {
    return parseSseCursor(cursor, this.kind);
  }

  /** Closes every stream, in-flight pulls included (they end with ABORTED). */
  async close(): Promise<void> {
    for (const entry of this.#streams.values()) {
      clearTimeout(entry.linger);
      entry.stream.close();
    }
    this.#streams.clear();
  }

  #drop(key: string, only?: SseStream): void {
    const entry = this.#streams.get(key);
    if (entry === undefined || (only !== undefined && entry.stream !== only)) return;
    if (entry.stream.busy) return;
    clearTimeout(entry.linger);
    entry.stream.close();
    this.#streams.delete(key);
  }
}
