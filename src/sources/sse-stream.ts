import { abortedError } from "../errors.js";
import type { Logger } from "../log.js";
import { type NormalizedEvent, typeMatcher } from "../mail/event.js";
import type { HttpClient } from "./http-client.js";
import { RecentIds } from "./recent-ids.js";
import type { Page, Position, PullRequest } from "./source.js";
import type { SseDialect, SseTuning } from "./sse-dialect.js";
import { decodeFrameOrSkip } from "./sse-frame.js";
import { advance, MAX_ID_CHARS } from "./sse-position.js";
import { readSse, type SseMessage } from "./sse-reader.js";
import { afterEnding } from "./sse-reconnect.js";
import { TakeClock } from "./take-clock.js";
import { WakeableSleep } from "./wakeable-sleep.js";

/** Told of every event a stream keeps, with the positions just before and just after it. */
export type OnReceived = (event: NormalizedEvent, before: Position, after: Position) => void;

interface Connection {
  controller: AbortController;
  startedAt: number;
  openedAt: number | undefined;
  messages: number;
  /** We stopped it (pause/close): its ending is not a failure. */
  stopping: boolean;
}

/**
 * One identity's logical event stream: reconnects from where it stands, drops duplicates by
 * id, filters types, and buffers events between pulls so a pull loop (or a chain of waits)
 * neither loses what lands between two calls nor reconnects each time. Reconnection is
 * driven only by a pull in progress; between pulls an open socket keeps filling the buffer.
 */
export class SseStream {
  /** Where the last pull left the reader: a pull from exactly here may reuse this stream. */
  delivered: Position;
  busy = false;
  closed = false;
  readonly #http: HttpClient;
  readonly #dialect: SseDialect;
  readonly #identity: string;
  readonly #types: readonly string[];
  readonly #keep: (type: string) => boolean;
  readonly #log: Logger;
  readonly #t: SseTuning;
  readonly #positions: WeakMap<NormalizedEvent, Position>;
  readonly #onReceived: OnReceived | undefined;
  #tail: Position;
  #buffer: { event: NormalizedEvent; position: Position }[] = [];
  readonly #recent: RecentIds;
  #conn: Connection | undefined;
  #openedAt = 0;
  #lastEventAt = 0;
  #retryAt = 0;
  #failures = 0;
  #serverRetryMs: number | undefined;
  #lastError: unknown;
  #fatal: unknown;
  readonly #sleeper = new WakeableSleep();

  constructor(options: {
    http: HttpClient;
    dialect: SseDialect;
    identity: string;
    types: readonly string[];
    from: Position;
    log: Logger;
    tuning: SseTuning;
    positions: WeakMap<NormalizedEvent, Position>;
    onReceived?: OnReceived;
  }) {
    this.#http = options.http;
    this.#dialect = options.dialect;
    this.#identity = options.identity;
    this.#types = options.types;
    this.#keep = typeMatcher(options.types);
    this.#log = options.log;
    this.#t = options.tuning;
    this.#recent = new RecentIds(options.tuning.recentIds);
    this.#positions = options.positions;
    this.#onReceived = options.onReceived;
    this.#tail = options.from;
    this.delivered = options.from;
    this.remember(options.from.seen ?? []);
  }

  /** Ids delivered elsewhere (another process, a stored cursor) that must not come back. */
  remember(ids: readonly string[]): void {
    for (const id of ids) this.#recent.add(id);
  }

  /** Reads until `limit` events, the window's end, or (window 0) what is already waiting. */
  async take(request: PullRequest): Promise<Page> {
    if (request.signal.aborted) throw abortedError();
    this.busy = true;
    const clock = new TakeClock(request, this.#t);
    // Cancelling the call must reach the socket: the stream is dropped with its connection.
    const onAbort = () => this.close();
    request.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (request.signal.aborted || this.closed) throw abortedError();
        if (this.#fatal !== undefined) {
          if (this.#buffer.length > 0) break; // hand these over; the error surfaces next pull
          throw this.#fatal;
        }
        const now = Date.now();
        const step = clock.next({
          now,
          buffered: this.#buffer.length,
          limit: request.limit,
          openedAt: this.#openedAt,
          lastEventAt: this.#lastEventAt,
          open: this.#conn?.openedAt !== undefined,
          connected: this.#conn !== undefined,
          failing: this.#lastError !== undefined,
          retryAt: this.#retryAt,
        });
        if (step.kind === "done") break;
        if (step.kind === "fail") throw this.#lastError;
        if (step.connect) this.#connect();
        await this.#sleeper.sleep(step.until - now);
      }
      const taken = this.#buffer.splice(0, request.limit);
      const position = this.#buffer.length === 0 ? this.#tail : (taken.at(-1)?.position ?? this.#tail);
      this.delivered = position;
      return {
        events: taken.map((b) => b.event),
        position,
        hasMore: this.#buffer.length > 0 || taken.length === request.limit,
      };
    } finally {
      request.signal.removeEventListener("abort", onAbort);
      this.busy = false;
    }
  }

  /** Drops the connection and the buffer; the stream is not used again. */
  close(): void {
    this.closed = true;
    this.#stop();
    this.#buffer = [];
    this.#sleeper.wake();
  }

  #connect(): void {
    const { url, headers } = this.#dialect.request(this.#identity, this.#types, this.#tail);
    const conn: Connection = {
      controller: new AbortController(),
      startedAt: Date.now(),
      openedAt: undefined,
      messages: 0,
      stopping: false,
    };
    this.#conn = conn;
    readSse(
      this.#http,
      {
        url,
        headers,
        signal: conn.controller.signal,
        idleMs: this.#t.idleMs,
        maxBufferChars: this.#t.maxBufferChars,
      },
      {
        onOpen: () => {
          conn.openedAt = Date.now();
          this.#openedAt = conn.openedAt;
          this.#lastError = undefined;
          this.#sleeper.wake();
        },
        onId: (id) => {
          if (!conn.stopping) this.#onId(id);
        },
        onMessage: (message) => {
          // The rest of a chunk after a pause is fetched again on resume, not buffered.
          if (conn.stopping) return;
          // Only new events count as progress: a server that replays the same duplicate and
          // hangs up must back off, not spin.
          if (this.#onMessage(message)) conn.messages++;
        },
        onRetry: (ms) => {
          this.#serverRetryMs = Math.min(ms, this.#t.maxServerRetryMs);
        },
      },
    ).then(
      () => this.#ended(conn, undefined),
      (error: unknown) => this.#ended(conn, error),
    );
  }

  #ended(conn: Connection, error: unknown): void {
    if (this.#conn === conn) this.#conn = undefined;
    if (conn.stopping || this.closed) return;
    const next = afterEnding(
      {
        now: Date.now(),
        openedAt: conn.openedAt,
        messages: conn.messages,
        error,
        failures: this.#failures,
        serverRetryMs: this.#serverRetryMs,
        kind: this.#dialect.kind,
        identity: this.#identity,
      },
      this.#http.retryPolicy,
    );
    this.#failures = next.failures;
    if ("fatal" in next) this.#fatal = next.fatal;
    else {
      this.#retryAt = next.retryAt;
      if ("lastError" in next) this.#lastError = next.lastError;
    }
    this.#sleeper.wake();
  }

  /** An id-only frame: later reconnects resume after it, though no event came with it. */
  #onId(raw: string): void {
    const id = raw.trim();
    // An id that quotes our token, or one too long to send back, is not a resume point.
    if (id === "" || id.length > MAX_ID_CHARS || this.#http.redact.text(id) !== id) return;
    this.#tail = { ...this.#tail, cursor: id };
  }

  /** Returns true when the frame was a new event (kept or filtered out), false otherwise. */
  #onMessage(message: SseMessage): boolean {
    if (message.data.trim() === "") return false;
    const frame = decodeFrameOrSkip(message, this.#http.redact, this.#log, {
      kind: this.#dialect.kind,
      identity: this.#identity,
    });
    if (frame === undefined) return false;
    const { event, upstreamId } = this.#dialect.normalize(frame.message, frame.data, this.#identity);
    if (this.#recent.has(event.id)) return false; // at-least-once: already delivered
    this.#recent.add(event.id);
    const before = this.#tail;
    this.#tail = advance(this.#tail, event, upstreamId);
    // Skipped events still move the tail, so a reconnect does not fetch them again.
    // (No time floor here: upstream's clock is not ours; the tools filter stale mail by age.)
    if (!this.#keep(event.type)) return true;
    this.#onReceived?.(event, before, this.#tail);
    this.#positions.set(event, this.#tail);
    this.#buffer.push({ event, position: this.#tail });
    this.#lastEventAt = Date.now();
    // Nobody is reading: stop filling memory; the next pull resumes from the tail.
    if (!this.busy && this.#buffer.length >= this.#t.maxBuffered) this.#stop();
    this.#sleeper.wake();
    return true;
  }

  #stop(): void {
    const conn = this.#conn;
    if (conn === undefined) return;
    conn.stopping = true;
    this.#conn = undefined;
    conn.controller.abort();
  }
}
