import { type Logger, silentLogger } from "../log.js";
import type { NormalizedEvent } from "../mail/event.js";
import type { HttpClient } from "./http-client.js";
import type { Cursor, Page, Position, PullRequest, SeekRequest, Source } from "./source.js";
import { DEFAULT_TUNING, type SseDialect, type SseTuning } from "./sse-dialect.js";
import { isTimeCursor, parseSseCursor, positionAfter, samePlace, timePosition } from "./sse-position.js";
import { SseStream } from "./sse-stream.js";

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

/** Streams kept per identity and type filter. */
const STREAMS_PER_KEY = 4;

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
  readonly #streams = new Map<string, Cached[]>();
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
    const entries = this.#streams.get(key) ?? [];
    let entry = entries.find(
      (e) =>
        !e.stream.busy &&
        !e.stream.closed &&
        request.since !== null &&
        samePlace(e.stream.delivered, request.since),
    );
    if (entry) {
      clearTimeout(entry.linger);
      entry.stream.remember(request.since?.seen ?? []);
    } else {
      entry = {
        stream: new SseStream({
          http: this.#http,
          dialect: this.#dialect,
          identity: request.identity,
          types: request.types,
          from: since,
          log: this.#log,
          tuning: this.#tuning,
          positions: this.#positions,
        }),
        linger: undefined,
      };
      // A few readers per identity (a pull_events loop beside a chain of waits, which keep
      // separate cursors) each keep their stream; past that the least recently used goes.
      const idle = entries.filter((e) => !e.stream.busy);
      if (entries.length >= STREAMS_PER_KEY && idle[0]) this.#drop(key, idle[0]);
      const list = this.#streams.get(key) ?? [];
      list.push(entry);
      this.#streams.set(key, list);
    }
    const { stream } = entry;
    try {
      return await stream.take(request);
    } catch (error) {
      stream.close();
      throw error;
    } finally {
      const list = this.#streams.get(key);
      const at = list?.indexOf(entry) ?? -1;
      if (stream.closed || list === undefined || at === -1) this.#drop(key, entry);
      else {
        // Most recently used last, so eviction takes the stalest.
        list.splice(at, 1);
        list.push(entry);
        entry.linger = setTimeout(() => this.#drop(key, entry), this.#lingerMs);
        entry.linger.unref();
      }
    }
  }

  /**
   * Never walks history. mails replays by time, so a stale or missing cursor becomes
   * `since = notBefore`. molted replays only after an event id (≤ 1,000 events): a stored id
   * is resumed from (the caller skips the stale events in that replay); with none, the
   * stream starts live: mail that landed before the first wait is not seen (molted cannot
   * replay by time).
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
    for (const list of this.#streams.values()) {
      for (const entry of list) {
        clearTimeout(entry.linger);
        entry.stream.close();
      }
    }
    this.#streams.clear();
  }

  #drop(key: string, entry: Cached): void {
    clearTimeout(entry.linger);
    entry.stream.close();
    const list = this.#streams.get(key);
    if (list === undefined) return;
    const at = list.indexOf(entry);
    if (at !== -1) list.splice(at, 1);
    if (list.length === 0) this.#streams.delete(key);
  }
}
