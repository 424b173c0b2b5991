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
  quietSince(openedAt: number, lastEventAt: number): number {
    return Math.max(openedAt, lastEventAt, this.#started);
  }

  /**
   * The quiet after the last event that ends a page. Events soon after a connection opens
   * are likely a replay still arriving in several reads: wait out the grace time so the page
   * (and `hasMore`) covers all of it.
   */
  settleMs(openedAt: number, lastEventAt: number): number {
    return lastEventAt - openedAt < this.#t.replayWindowMs ? this.#t.graceMs : this.#t.settleMs;
  }

  /** The quiet that ends a `timeoutMs: 0` pull on an open stream. */
  get graceMs(): number {
    return this.#t.graceMs;
  }

  /** When to look again: the window's end, then the deadline, or something sooner. */
  wakeAt(now: number, ...sooner: (number | undefined)[]): number {
    let at = now >= this.windowEnd ? this.deadline : this.windowEnd;
    for (const instant of sooner) if (instant !== undefined) at = Math.min(at, instant);
    return at;
  }
}
