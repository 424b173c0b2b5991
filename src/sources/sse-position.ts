import { createHash } from "node:crypto";
import { MailEventsError } from "../errors.js";
import { type NormalizedEvent, toEpochMs } from "../mail/event.js";
import { type Cursor, MAX_SEEN_IDS, type Position } from "./source.js";

/**
 * Positions in an SSE stream. The cursor is the last upstream event id — what the vendor
 * takes back as `Last-Event-ID` / `since` — or, while no event has carried an id, an ISO
 * time (mails resumes from it with `since=`). `order` is the newest event time seen, so
 * positions compare and never move backward; `seen` lists the last ids delivered, so an
 * at-least-once replay is dropped by id after a reconnect or a restart.
 */

/** Ids we made up start with `~`: they dedupe replays but are never sent upstream. */
export const SYNTHETIC_PREFIX = "~";

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** True when the cursor is a time (resume with `since=<ISO>`), not an upstream event id. */
export const isTimeCursor = (cursor: Cursor): boolean => typeof cursor !== "string" || ISO_TIME.test(cursor);

export const timePosition = (ms: number, seen: readonly string[] = []): Position => ({
  cursor: new Date(ms).toISOString(),
  order: ms,
  seen: [...seen],
});

/** The position just after `event`, following `previous` in the same stream. */
export function advance(
  previous: Position,
  event: NormalizedEvent,
  upstreamId: string | undefined,
): Position {
  const order = Math.max(previous.order, event.ts);
  // An event without an id keeps the last real id (resuming from it replays this event,
  // which `seen` then drops); with no real id yet, the time is the only resume point.
  const cursor =
    upstreamId ?? (isTimeCursor(previous.cursor) ? new Date(order).toISOString() : previous.cursor);
  return { cursor, order, seen: [...(previous.seen ?? []), event.id].slice(-MAX_SEEN_IDS) };
}

/** The position after `event` when nothing else is known about the stream it came from. */
export function positionAfter(event: NormalizedEvent): Position {
  const upstream = event.id.startsWith(SYNTHETIC_PREFIX) ? undefined : event.id;
  return advance(timePosition(event.ts), event, upstream);
}

/**
 * A client-supplied cursor: an event id (`evt_…`), an ISO time, or epoch ms/seconds
 * (`0` = from the beginning of what upstream keeps).
 */
export function parseSseCursor(cursor: Cursor, kind: string): Position {
  if (typeof cursor === "number" || /^\d+$/.test(cursor)) {
    const ms = toEpochMs(Number(cursor));
    if (ms === undefined || ms < 0) throw badCursor(cursor, kind);
    return timePosition(ms);
  }
  if (ISO_TIME.test(cursor)) {
    const ms = Date.parse(cursor);
    if (Number.isNaN(ms)) throw badCursor(cursor, kind);
    return timePosition(ms);
  }
  if (cursor.startsWith(SYNTHETIC_PREFIX) || cursor.length > MAX_ID_CHARS) throw badCursor(cursor, kind);
  // The time of an id is unknown until its event is seen again; 0 keeps it comparable.
  return { cursor, order: 0, seen: [] };
}

const badCursor = (cursor: Cursor, kind: string) =>
  new MailEventsError(
    "INVALID_INPUT",
    `since must be an event id (evt_…, at most ${MAX_ID_CHARS} characters), an ISO 8601 time or epoch milliseconds for ${kind}, got ${JSON.stringify(String(cursor).slice(0, 80))}`,
  );

export const samePlace = (a: Position | null, b: Position | null): boolean =>
  a !== null && b !== null && a.cursor === b.cursor && a.order === b.order;

/**
 * Longest upstream event id used as it is. A longer one is hashed into a synthetic id for
 * dropping replays and never sent back, so positions and cursors stay small whatever
 * upstream sends.
 */
export const MAX_ID_CHARS = 1_000;

/** The event id and the resume id for an upstream id of any length. */
export function boundedId(raw: string | undefined): { eventId?: string; upstreamId?: string } {
  if (raw === undefined) return {};
  if (raw.length <= MAX_ID_CHARS) return { eventId: raw, upstreamId: raw };
  return { eventId: `${SYNTHETIC_PREFIX}h:${createHash("sha256").update(raw).digest("hex").slice(0, 40)}` };
}

/**
 * The CSV of types to send upstream, so the vendor filters server-side and unwanted traffic
 * never crosses the wire. Vendors take exact types only, so a `prefix.*` wildcard is expanded
 * to the `documented` types it covers; when one cannot be (it covers an undocumented family,
 * or nothing), undefined: everything comes, and the stream filters here.
 */
export function upstreamTypes(types: readonly string[], documented: readonly string[]): string | undefined {
  if (types.length === 0) return undefined;
  const wanted = new Set<string>();
  for (const type of types) {
    if (!type.endsWith("*")) {
      wanted.add(type);
      continue;
    }
    const prefix = type.slice(0, -1);
    const covered = documented.filter((d) => d.startsWith(prefix));
    if (covered.length === 0 || covered.some((d) => d.includes("*"))) return undefined;
    for (const d of covered) wanted.add(d);
  }
  return [...wanted].sort().join(",");
}
