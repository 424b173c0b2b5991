import type { NormalizedEvent } from "../mail/event.js";
import { baseUrl } from "./base-url.js";

export type SourceKind = "local" | "inboxbase" | "mails" | "molted";

/** What a client hands back to resume: a seq (cursor endpoint) or an event id (SSE). */
export type Cursor = number | string;

/**
 * Where a reader stands in one identity's log. `order` makes positions comparable so a
 * cursor never moves backward: the seq for the cursor endpoint, the event time for SSE.
 * `seen` holds the ids already delivered at that `order`, so at-least-once replays are
 * dropped across reconnects and restarts.
 */
/** How many delivered ids a position remembers (and the cursor store keeps). */
export const MAX_SEEN_IDS = 64;

export interface Position {
  cursor: Cursor;
  order: number;
  seen?: string[];
  /**
   * The log's epoch, where the source has one (the local inbox): a position is only valid in
   * the log it came from. A position of another epoch is treated as no position.
   */
  epoch?: string;
}

export interface PullRequest {
  identity: string;
  /** null = from the start of the log (cursor endpoint) or from "now" (live streams). */
  since: Position | null;
  /** Event types to keep; empty = all. `delivery.*` wildcards allowed. */
  types: readonly string[];
  /** 1..200 */
  limit: number;
  /** Long-poll window, 0..25000 ms: return as soon as one event lands. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Epoch ms: retries of transient failures stop here. Default: the window plus 30 s. */
  deadline?: number;
}

/** The namespace of a source's cursors (`Source.key`): its kind plus its base URL. */
export const sourceKey = (kind: SourceKind, url: string): string => `${kind} ${baseUrl(url)}`;

/** A pull's retry deadline: the caller's, else the end of its window plus 30 s. */
export const pullDeadline = (request: Pick<PullRequest, "deadline">, windowEnd: number): number =>
  request.deadline ?? windowEnd + 30_000;

export interface Page {
  events: NormalizedEvent[];
  /** Position after the last event returned (or the unchanged `since` when none). */
  position: Position | null;
  /** More events are already waiting: call again at once without long-polling. */
  hasMore: boolean;
  /**
   * The page could not start where asked and started at "now" instead (molted with no id to
   * replay after, and no event of this identity seen by this process yet).
   */
  startedLive?: boolean;
  /** Set when a stored position did not belong to the log and the page restarted at its beginning: why. */
  reset?: string;
}

export interface SeekRequest {
  identity: string;
  /** Events with `ts` below this (epoch ms) are stale and may be skipped. */
  notBefore: number;
  /** The stored position, if any; the result is never behind it. */
  after: Position | null;
  signal: AbortSignal;
  /** Epoch ms: retries of transient failures stop here. */
  deadline?: number;
}

/** One upstream dialect. Every source is driven by the same cursor logic in the tools. */
export interface Source {
  readonly kind: SourceKind;
  /** Namespace of this source's cursors: kind plus base URL. */
  readonly key: string;
  pull(request: PullRequest): Promise<Page>;
  /**
   * A position after which every event is at least `notBefore`, found without walking the
   * log page by page (the first wait on a long log must not do that).
   */
  seek(request: SeekRequest): Promise<Position | null>;
  /** The position just after `event`, for committing "everything up to this one". */
  positionOf(event: NormalizedEvent): Position;
  /** Turns a client-supplied cursor (pull_events `since`) into a position. */
  parseCursor(cursor: Cursor): Position;
  close(): Promise<void>;
}
