import { type Logger, silentLogger } from "../log.js";
import { type NormalizedEvent, typeMatcher } from "../mail/event.js";
import type { HttpClient } from "./http-client.js";
import {
  type Cursor,
  type Page,
  type Position,
  type PullRequest,
  type SeekRequest,
  type Source,
  sourceKey,
} from "./source.js";
import { DEFAULT_TUNING, type SseDialect, type SseTuning } from "./sse-dialect.js";
import { type Received, SseHistory } from "./sse-history.js";
import { isTimeCursor, parseSseCursor, positionAfter, samePlace, timePosition } from "./sse-position.js";
import { SseStream } from "./sse-stream.js";

export interface SseSourceOptions {
  /** Base URL of the hosted API (MAIL_EVENTS_URL). */
  url: string;
  http: HttpClient;
  /** Where skipped frames are reported. Default: silent. */
  log?: Logger;
  /**
   * How long a stream stays open after a pull, waiting for the next one, ms. Default 30 s;
   * 5 min for molted, which cannot replay by time: mail that lands between two waits is
   * seen only by a stream that is still open.
   */
  lingerMs?: number;
  /** Bounds of the per-identity history of received events (molted's "start of the log"). */
  history?: { maxEvents?: number; maxBytes?: number };
  tuning?: Partial<SseTuning>;
}

/** "From now" starts this far back, so a client clock ahead of upstream's loses nothing. */
const NOW_MARGIN_MS = 2_000;

/** mails' "start of the log": a time before anything it keeps, so it replays all it has. */
const LOG_START = timePosition(0);

/** Streams kept per identity and type filter. */
const STREAMS_PER_KEY = 4;

const streamKey = (identity: string, types: readonly string[]) =>
  `${identity}\n${[...types].sort().join(",")}`;

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
  readonly #history: SseHistory;

  constructor(dialect: SseDialect & { readonly resumesFromTime: boolean }, options: SseSourceOptions) {
    this.#dialect = dialect;
    this.kind = dialect.kind;
    this.key = sourceKey(this.kind, options.url);
    this.#http = options.http;
    this.#log = options.log ?? silentLogger;
    this.#lingerMs = options.lingerMs ?? (dialect.resumesFromTime ? 30_000 : 300_000);
    this.#tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.#history = new SseHistory({
      maxEvents: options.history?.maxEvents ?? 1_000,
      maxBytes: options.history?.maxBytes ?? 4 * 1024 * 1024,
    });
  }

  /**
   * `since: null` is the start of the log: mails replays by time from the oldest event it
   * keeps; molted, which replays only after an id, starts at the oldest event this process
   * received on that stream, or live (`startedLive`) when it received none.
   */
  async pull(request: PullRequest): Promise<Page> {
    const key = streamKey(request.identity, request.types);
    let since = request.since;
    let startedLive = false;
    if (since === null && this.#dialect.resumesFromTime) since = LOG_START;
    if (since === null) {
      const oldest = this.#received(key, request.types)[0];
      startedLive = oldest === undefined;
      since = oldest?.before ?? timePosition(Date.now() - NOW_MARGIN_MS);
    }
    const page = await this.#pullFrom(key, since, request);
    return startedLive ? { ...page, startedLive } : page;
  }

  async #pullFrom(key: string, since: Position, request: PullRequest): Promise<Page> {
    const entries = this.#streams.get(key) ?? [];
    let entry = entries.find(
      (e) => !e.stream.busy && !e.stream.closed && samePlace(e.stream.delivered, since),
    );
    if (entry === undefined) {
      // A point this process has seen: what came after it is in memory, whatever upstream
      // can replay (molted cannot from a time).
      const remembered = this.#fromHistory(key, since, request);
      if (remembered) return remembered;
    }
    if (entry) {
      clearTimeout(entry.linger);
      entry.stream.remember(since.seen ?? []);
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
          onReceived: (event, before, after) => this.#history.record(key, event, before, after),
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
   * A position from which every event with `ts ≥ notBefore` is delivered, found without
   * walking the log. mails replays by time: `since = notBefore`. molted replays only after an
   * event id (≤ 1,000 events): a stored id is resumed from (the caller skips the stale events
   * in that replay); with none, the oldest event this process received at or after
   * `notBefore` (so mail that landed between two waits is not lost), else where a stream
   * still open from an earlier call stands, else live.
   */
  async seek(request: SeekRequest): Promise<Position | null> {
    const { after, notBefore } = request;
    if (after === null && !this.#dialect.resumesFromTime) {
      const key = streamKey(request.identity, []);
      const kept = this.#received(key, []).find((r) => r.event.ts >= notBefore);
      if (kept) return kept.before;
      // A stream still open since an earlier call has everything that landed since: carry on
      // from it (an event in flight as this call starts is not lost to a new connection).
      const open = this.#streams.get(key)?.find((e) => !e.stream.busy && !e.stream.closed);
      return open?.stream.delivered ?? timePosition(notBefore);
    }
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

  /** The events received for `key`; failing that, the identity's unfiltered ones that match. */
  #received(key: string, types: readonly string[]): readonly Received[] {
    const own = this.#history.entries(key);
    if (own.length > 0 || types.length === 0) return own;
    const keep = typeMatcher(types);
    const all = this.#history.entries(streamKey(key.slice(0, key.indexOf("\n")), []));
    return all.filter((r) => keep(r.event.type));
  }

  /** A page from memory when `since` is just before an event this process received. */
  #fromHistory(key: string, since: Position, request: PullRequest): Page | undefined {
    const received = this.#received(key, request.types);
    const at = received.findIndex((r) => samePlace(r.before, since));
    if (at === -1) return undefined;
    const taken = received.slice(at, at + request.limit);
    const last = taken.at(-1);
    if (last === undefined) return undefined;
    return {
      events: taken.map((r) => r.event),
      position: last.after,
      hasMore: at + taken.length < received.length,
    };
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
