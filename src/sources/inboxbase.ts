import { z } from "zod";
import { MailEventsError, unknownIdentity } from "../errors.js";
import {
  emailFields,
  isRecord,
  type NormalizedEvent,
  normalizedEvent,
  str,
  toEpochMs,
} from "../mail/event.js";
import type { HttpClient } from "./http-client.js";
import type { Cursor, Page, Position, PullRequest, SeekRequest, Source } from "./source.js";

const WireEvent = z.looseObject({
  seq: z.coerce.number().int().nonnegative(),
  id: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
  ts: z.union([z.number(), z.string()]).optional(),
  tsIso: z.string().optional(),
  createdAt: z.union([z.string(), z.number()]).optional(),
  convId: z.string().nullish(),
  data: z.unknown().optional(),
});

const WirePage = z.looseObject({
  identity: z.string().optional(),
  events: z.array(WireEvent),
  cursor: z.coerce.number().int().nonnegative().nullish(),
  hasMore: z.boolean().optional(),
});

type WireEvent = z.infer<typeof WireEvent>;

export function normalizeInboxbaseEvent(wire: WireEvent, identity: string): NormalizedEvent {
  const data = isRecord(wire.data) ? wire.data : {};
  const type = wire.type ?? str(data.type) ?? str(data.event) ?? "unknown";
  const ts =
    toEpochMs(wire.ts) ??
    toEpochMs(wire.tsIso) ??
    toEpochMs(wire.createdAt) ??
    toEpochMs(data.receivedAt) ??
    toEpochMs(data.ts) ??
    0;
  const email = emailFields(data);
  if (email && email.threadId === undefined && typeof wire.convId === "string") email.threadId = wire.convId;
  return normalizedEvent({
    id: str(wire.id) ?? `seq_${wire.seq}`,
    seq: wire.seq,
    type,
    identity,
    ts,
    email,
    data,
  });
}

const at = (seq: number): Position => ({ cursor: seq, order: seq });

/** The position just after `event` in a seq-numbered log (the cursor endpoint's dialect). */
export const seqPositionOf = (event: NormalizedEvent): Position => at(event.seq ?? 0);

/** A client-supplied cursor for a seq-numbered log: a whole number ≥ 0. */
export function parseSeqCursor(cursor: Cursor, kind: string): Position {
  const seq = typeof cursor === "number" ? cursor : Number(cursor);
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new MailEventsError("INVALID_INPUT", `since must be a whole number ≥ 0 for ${kind}, got ${cursor}`);
  }
  return at(seq);
}

/**
 * The cursor endpoint (SPEC §1.1), used for hosted inboxbase accounts and, with another
 * `kind`, for the embedded local inbox, which serves the same dialect.
 */
export class InboxbaseSource implements Source {
  readonly kind: "inboxbase" | "local";
  readonly key: string;
  readonly #base: string;
  readonly #http: HttpClient;

  constructor(options: { url: string; http: HttpClient; kind?: "inboxbase" | "local" }) {
    this.kind = options.kind ?? "inboxbase";
    this.#base = options.url.replace(/\/+$/, "");
    this.key = `${this.kind} ${this.#base}`;
    this.#http = options.http;
  }

  async pull(request: PullRequest): Promise<Page> {
    const since = request.since === null ? 0 : Number(request.since.cursor);
    const url = new URL(`${this.#base}/v1/identities/${encodeURIComponent(request.identity)}/events`);
    url.searchParams.set("since", String(since));
    if (request.types.length > 0) url.searchParams.set("types", request.types.join(","));
    url.searchParams.set("limit", String(request.limit));
    url.searchParams.set("timeoutMs", String(request.timeoutMs));
    const deadline = request.deadline ?? Date.now() + request.timeoutMs + 30_000;
    const body = await this.#get(url, request.identity, request.signal, request.timeoutMs, deadline);
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
    const last = events.at(-1)?.seq;
    const cursor = Math.max(since, parsed.data.cursor ?? 0, last ?? 0);
    return {
      events: events.filter((e) => (e.seq ?? 0) > since),
      position: cursor === 0 && request.since === null ? null : at(cursor),
      hasMore: parsed.data.hasMore ?? false,
    };
  }

  /**
   * Finds the last stale seq by galloping then bisecting on `since` with `limit=1`:
   * O(log n) requests, ~34 for a 100k-event log, instead of 500 pages.
   */
  async seek(request: SeekRequest): Promise<Position | null> {
    const { identity, notBefore, signal, deadline } = request;
    const probe = async (since: number) =>
      (
        await this.pull({
          identity,
          since: at(since),
          types: [],
          limit: 1,
          timeoutMs: 0,
          signal,
          ...(deadline === undefined ? {} : { deadline }),
        })
      ).events[0];
    let lo = request.after === null ? 0 : Number(request.after.cursor);
    const first = await probe(lo);
    if (first === undefined || first.ts >= notBefore) return request.after;
    // Invariant: event `lo` is stale (or lo is the start); every event after `hi` is fresh.
    lo = first.seq ?? lo;
    let hi = lo;
    for (let step = 1; ; step *= 2) {
      const e = await probe(lo + step);
      if (e === undefined || e.ts >= notBefore) {
        hi = lo + step;
        break;
      }
      lo = e.seq ?? lo + step;
    }
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const e = await probe(mid);
      if (e === undefined || e.ts >= notBefore || (e.seq ?? mid) > hi) hi = mid;
      else lo = e.seq ?? mid + 1;
    }
    return at(lo);
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
