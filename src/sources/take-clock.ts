import { type PullRequest, pullDeadline } from "./source.js";
import type { SseTuning } from "./sse-dialect.js";

/**
 * Every instant one `SseStream.take` waits for, in one place: the end of the pull's window,
 * the call's deadline (a failing upstream is retried until then), the quiet that ends a page
 * of buffered events (`settle`, or `grace` just after a connection opened, while a replay may
 * still be arriving), the quiet that ends a `timeoutMs: 0` pull, and the next reconnect.
 */
export class TakeClock {
  /** `timeoutMs: 0`: hand over what the open stream holds after a short quiet. */
  readonly zero: boolean;
  readonly windowEnd: number;
  readonly deadline: number;
  readonly #started: number;
  readonly #t: SseTuning;

  constructor(request: PullRequest, tuning: SseTuning, started = Date.now()) {
    this.#started = started;
    this.#t = tuning;
    this.zero = request.timeoutMs === 0;
    this.windowEnd = started + (this.zero ? tuning.zeroWindowMs : request.timeoutMs);
    this.deadline = pullDeadline(request, this.windowEnd);
  }

  /**
   * Since when the stream has been quiet. Counted from this pull's start too: a reused
   * stream's silence before the call says nothing of an event upstream took just before it,
   * still on the wire.
   */
  #quietSince(openedAt: number, lastEventAt: number): number {
    return Math.max(openedAt, lastEventAt, this.#started);
  }

  /**
   * The quiet after the last event that ends a page. Events soon after a connection opens
   * are likely a replay still arriving in several reads: wait out the grace time so the page
   * (and `hasMore`) covers all of it.
   */
  #settleMs(openedAt: number, lastEventAt: number): number {
    return lastEventAt - openedAt < this.#t.replayWindowMs ? this.#t.graceMs : this.#t.settleMs;
  }

  /**
   * What `take` does next, from where its stream stands: hand over the buffer (`done`),
   * give up with the upstream's last error (`fail`), or sleep until `until` (first opening
   * a connection when `connect`). Pure: the stream's state in, one decision out.
   */
  next(s: TakeState): TakeStep {
    const quietSince = this.#quietSince(s.openedAt, s.lastEventAt);
    const settle = this.#settleMs(s.openedAt, s.lastEventAt);
    const graceOver = this.zero && s.open ? quietSince + this.#t.graceMs : undefined;
    const settled = s.buffered > 0 ? s.lastEventAt + settle : undefined;
    if (s.buffered >= s.limit) return DONE;
    if (settled !== undefined && s.now >= settled) return DONE;
    if (graceOver !== undefined && s.now >= graceOver) return DONE;
    if (s.now >= this.windowEnd) {
      if (s.open || s.buffered > 0 || !s.failing) return DONE;
      // Upstream is failing: keep retrying, like every other request, until the deadline.
      if (s.now >= this.deadline) return FAIL;
    }
    let connect = false;
    let reconnectAt: number | undefined;
    if (!s.connected) {
      if (s.failing && s.retryAt >= this.deadline) return FAIL;
      if (s.now >= s.retryAt) connect = true;
      else reconnectAt = s.retryAt;
    }
    let until = s.now >= this.windowEnd ? this.deadline : this.windowEnd;
    for (const sooner of [reconnectAt, settled, graceOver])
      if (sooner !== undefined) until = Math.min(until, sooner);
    return { kind: "wait", connect, until };
  }
}

/** Where one identity's stream stands when `take` looks again. */
export interface TakeState {
  now: number;
  /** Events buffered, and how many the pull takes at most. */
  buffered: number;
  limit: number;
  /** When the last connection opened, and the last kept event arrived (0: never). */
  openedAt: number;
  lastEventAt: number;
  /** A connection has answered (`open`), or at least been started (`connected`). */
  open: boolean;
  connected: boolean;
  /** The upstream's last attempt failed, and when the next may start. */
  failing: boolean;
  retryAt: number;
}

export type TakeStep =
  | { kind: "done" }
  | { kind: "fail" }
  | { kind: "wait"; connect: boolean; until: number };

const DONE: TakeStep = { kind: "done" };
const FAIL: TakeStep = { kind: "fail" };
