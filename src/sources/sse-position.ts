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
  if (cursor.startsWith(SYNTHETIC_PREFIX)) throw badCursor(cursor, kind);
  // The time of an id is unknown until its event is seen again; 0 keeps it comparable.
  return { cursor, order: 0, seen: [] };
}

const badCursor = (cursor: Cursor, kind: string) =>
  new MailEventsError(
    "INVALID_INPUT",
    `since must be an event id (evt_…), an ISO 8601 time or epoch milliseconds for ${kind}, got ${JSON.stringify(cursor)}`,
  );

export const samePlace = (a: Position | null, b: Position | null): boolean =>
  a !== null && b !== null && a.cursor === b.cursor && a.order === b.order;

/** The CSV to send upstream, or undefined when a wildcard means filtering here instead. */
export const upstreamTypes = (types: readonly string[]): string | undefined =>
  types.length === 0 || types.some((t) => t.includes("*")) ? undefined : types.join(",");
