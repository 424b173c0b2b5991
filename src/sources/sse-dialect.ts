import type { NormalizedEvent } from "../mail/event.js";
import type { Position } from "./source.js";
import type { SseMessage } from "./sse-reader.js";

/** What differs between SSE vendors: the request that resumes, and the event shape. */
export interface SseDialect {
  readonly kind: "mails" | "molted";
  /** The request that resumes just after `from` (a time cursor or an upstream id). */
  request(
    identity: string,
    types: readonly string[],
    from: Position,
  ): { url: URL; headers: Record<string, string> };
  /** A frame's parsed JSON → the event and the upstream id to resume after it, if it has one. */
  normalize(
    message: SseMessage,
    data: Record<string, unknown>,
    identity: string,
  ): { event: NormalizedEvent; upstreamId: string | undefined };
}

export interface SseTuning {
  /** A page is handed back once the stream has been quiet this long after an event, ms. */
  settleMs: number;
  /**
   * With `timeoutMs: 0`: how long a stream must stay quiet after it opens (or after its last
   * event) before "nothing more is waiting" is believed, ms. Also the replay burst allowance.
   */
  graceMs: number;
  /** With `timeoutMs: 0`: the longest a pull waits for the connection and its replay, ms. */
  zeroWindowMs: number;
  /** Events that arrive within this long of a connection opening may be a replay burst; a
   * page then waits `graceMs` of quiet instead of `settleMs`. */
  replayWindowMs: number;
  /** Most events held for the next pull; above it the connection pauses (resumes later). */
  maxBuffered: number;
  /** Silence (not even a keepalive) after which the connection is dropped and reopened, ms. */
  idleMs: number;
  /** Longest line, and most characters of one frame, read before the connection is dropped. */
  maxBufferChars: number;
  /** Longest `retry:` from the server that is honoured, ms. */
  maxServerRetryMs: number;
  /** Most ids remembered per stream to drop at-least-once duplicates. */
  recentIds: number;
}

export const DEFAULT_TUNING: SseTuning = {
  settleMs: 1,
  graceMs: 100,
  zeroWindowMs: 2_000,
  replayWindowMs: 250,
  maxBuffered: 2_000,
  idleMs: 90_000,
  maxBufferChars: 1024 * 1024,
  maxServerRetryMs: 3_000,
  recentIds: 4_096,
};
