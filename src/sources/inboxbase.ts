import { setTimeout as sleep } from "node:timers/promises";
import { MailEventsError, unknownIdentity } from "../errors.js";
import { type Logger, silentLogger } from "../log.js";
import type { NormalizedEvent } from "../mail/event.js";
import { baseUrl } from "./base-url.js";
import { expandTypes } from "./event-types.js";
import type { HttpClient } from "./http-client.js";
import { at, normalizeInboxbaseEvent, parseSeqCursor, seqPositionOf, WirePage } from "./inboxbase-wire.js";
import {
  type Cursor,
  type Page,
  type Position,
  type PullRequest,
  pullDeadline,
  type SeekRequest,
  type Source,
  sourceKey,
} from "./source.js";

/** One response of the endpoint, normalized, before any cursor rule is applied. */
interface RawPage {
  events: NormalizedEvent[];
  cursor: number;
  hasMore: boolean;
  epoch: string | undefined;
  head: number | undefined;
}

/** A vendor that says `hasMore` but does not move, or ignores the long-poll, is retried this slowly. */
const STALL_DELAY_MS = 250;

/**
 * The cursor endpoint (SPEC §1.1), used for hosted inboxbase accounts and, with another
 * `kind`, for the embedded local inbox, which serves the same dialect.
 */
export class InboxbaseSource implements Source {
  readonly kind: "inboxbase" | "local";
  readonly key: string;
  readonly #base: string;
  readonly #http: HttpClient;
  readonly #log: Logger;
  readonly #reported = new Set<string>();

  constructor(options: { url: string; http: HttpClient; kind?: "inboxbase" | "local"; log?: Logger }) {
    this.kind = options.kind ?? "inboxbase";
    this.#base = baseUrl(options.url);
    this.key = sourceKey(this.kind, this.#base);
    this.#http = options.http;
    this.#log = options.log ?? silentLogger;
  }

  /**
   * One page after `since`. A stored position (it carries an epoch) of another log, or from
   * beyond this log's end, is treated as no position: the page starts at the beginning of
   * the current log, and that is said once on stderr. A position the user typed (no epoch)
   * beyond the end is refused with the end's value.
   */
  async pull(request: PullRequest): Promise<Page> {
    const since = request.since === null ? 0 : Number(request.since.cursor);
    const raw = await this.#fetch(request, since, request.limit, request.timeoutMs, request.since?.epoch);
    const stale = this.#staleness(request.since, raw);
    if (stale !== undefined) {
      if (request.since?.epoch === undefined) {
        throw new MailEventsError(
          "INVALID_INPUT",
          `cursor ${since} is beyond the end of ${request.identity}'s log (its last seq is ${raw.head}); pass a cursor ≤ ${raw.head}`,
        );
      }
      this.#report(request.identity, stale);
      const fresh = await this.#fetch(request, 0, request.limit, request.timeoutMs);
      return { ...this.#page(fresh, 0, null), reset: stale };
    }
    return this.#page(raw, since, request.since);
  }

  /** Why `since` does not belong to the log `raw` came from, or undefined when it does. */
  #staleness(since: Position | null, raw: RawPage): string | undefined {
    if (since === null) return undefined;
    if (since.epoch !== undefined && raw.epoch !== undefined && since.epoch !== raw.epoch) {
      return since.epoch === ""
        ? `the stored cursor ${since.cursor} predates log epochs`
        : `the stored cursor ${since.cursor} belongs to an earlier log (epoch ${since.epoch}, now ${raw.epoch})`;
    }
    if (raw.head !== undefined && Number(since.cursor) > raw.head) {
      return `the stored cursor ${since.cursor} is beyond the end of the log (its last seq is ${raw.head})`;
    }
    return undefined;
  }

  #report(identity: string, why: string): void {
    const key = `${identity}\n${why}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (this.#reported.size > 1_000) this.#reported.clear();
    this.#log.warn(`${this.kind}: ${identity}: ${why}; reading from the start of the current log`);
  }

  #page(raw: RawPage, since: number, from: Position | null): Page {
    const cursor = Math.max(since, raw.cursor, raw.events.at(-1)?.seq ?? 0);
    return {
      events: raw.events.filter((e) => (e.seq ?? 0) > since),
      position: cursor === 0 && from === null && raw.epoch === undefined ? null : at(cursor, raw.epoch),
      hasMore: raw.hasMore,
    };
  }

  async #fetch(
    request: Pick<PullRequest, "identity" | "types" | "signal" | "deadline">,
    since: number,
    limit: number,
    timeoutMs: number,
    epoch?: string,
  ): Promise<RawPage> {
    const url = new URL(`${this.#base}/v1/identities/${encodeURIComponent(request.identity)}/events`);
    url.searchParams.set("since", String(since));
    if (request.types.length > 0)
      url.searchParams.set("types", expandTypes(this.kind, request.types).join(","));
    url.searchParams.set("limit", String(limit));
    url.searchParams.set("timeoutMs", String(timeoutMs));
    // Lets the local inbox answer a cursor of another log at once (hosted APIs ignore it).
    if (epoch) url.searchParams.set("epoch", epoch);
    const started = Date.now();
    const deadline = pullDeadline(request, started + timeoutMs);
    const body = await this.#get(url, request.identity, request.signal, timeoutMs, deadline);
    const parsed = WirePage.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new MailEventsError(
        "UPSTREAM_BAD_PAYLOAD",
        `${url.origin} sent an events page of the wrong shape (${issue?.path.join(".") || "body"}: ${issue?.message}); check that MAIL_EVENTS_URL points at an inboxbase-compatible API`,
      );
    }
    const events = parsed.data.events
      .map((e) => normalizeInboxbaseEvent(e, parsed.data.identity ?? request.identity))
      .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    const last = events.at(-1)?.seq ?? 0;
    const cursor = Math.max(since, parsed.data.cursor ?? 0, last);
    let hasMore = parsed.data.hasMore ?? false;
    const moved = cursor > since;
    if (!moved && (hasMore || (timeoutMs > 0 && Date.now() - started < STALL_DELAY_MS))) {
      // `hasMore` without moving, or an empty answer at once to a long-poll, would make every
      // caller loop as fast as the network allows: a fault, paced and reported once.
      if (hasMore) this.#report(request.identity, `${url.origin} answered hasMore without moving its cursor`);
      hasMore = false;
      const pause = Math.min(STALL_DELAY_MS, Math.max(0, deadline - Date.now()));
      await sleep(pause, undefined, { signal: request.signal }).catch(() => {});
    }
    return { events, cursor, hasMore, epoch: parsed.data.epoch, head: parsed.data.head };
  }

  /**
   * Finds the last stale seq by galloping then bisecting on `since` with `limit=1`:
   * O(log n) requests, ~34 for a 100k-event log, instead of 500 pages. `after` (a position
   * known to be stale, or the stored one) is where the search starts, when it belongs to
   * this log.
   */
  async seek(request: SeekRequest): Promise<Position | null> {
    const { notBefore } = request;
    let epoch: string | undefined;
    const probe = async (since: number) => {
      const raw = await this.#fetch({ ...request, types: [] }, since, 1, 0);
      epoch = raw.epoch;
      return raw;
    };
    let lo = request.after === null ? 0 : Number(request.after.cursor);
    let raw = await probe(lo);
    if (lo > 0 && request.after !== null && this.#staleness(request.after, raw) !== undefined) {
      lo = 0;
      raw = await probe(0);
    }
    const first = raw.events[0];
    if (first === undefined || first.ts >= notBefore) return lo === 0 ? this.#start(epoch) : at(lo, epoch);
    // Invariant: event `lo` is stale (or lo is the start); every event after `hi` is fresh.
    lo = first.seq ?? lo;
    let hi = lo;
    for (let step = 1; ; step *= 2) {
      const e = (await probe(lo + step)).events[0];
      if (e === undefined || e.ts >= notBefore) {
        hi = lo + step;
        break;
      }
      lo = e.seq ?? lo + step;
    }
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const e = (await probe(mid)).events[0];
      if (e === undefined || e.ts >= notBefore || (e.seq ?? mid) > hi) hi = mid;
      else lo = e.seq ?? mid + 1;
    }
    return at(lo, epoch);
  }

  /** The start of the log: a position only where it names the log (an epoch). */
  #start(epoch: string | undefined): Position | null {
    return epoch === undefined ? null : at(0, epoch);
  }

  positionOf(event: NormalizedEvent): Position {
    return seqPositionOf(event);
  }

  parseCursor(cursor: Cursor): Position {
    return parseSeqCursor(cursor, this.kind);
  }

  async close(): Promise<void> {}

  async #get(
    url: URL,
    identity: string,
    signal: AbortSignal,
    holdMs: number,
    deadline: number,
  ): Promise<unknown> {
    try {
      return await this.#http.getJson(url, { signal, holdMs, deadline });
    } catch (error) {
      if (error instanceof MailEventsError && error.status === 404) {
        throw unknownIdentity(this.kind, identity, error);
      }
      throw error;
    }
  }
}
