import { isMailEventsError, isRetryable } from "../errors.js";

/**
 * One retry policy for every upstream request, the cursor endpoint and both SSE dialects:
 * exponential backoff with jitter, never below a floor (so `Retry-After: 0`, an empty one or
 * a date in the past cannot make a hot loop), `Retry-After` honoured when it asks for longer,
 * and a cap on consecutive failed attempts. The caller's deadline still bounds it all.
 */
export interface RetryPolicyOptions {
  /** The shortest wait between two attempts, whatever the server says, ms. */
  floorMs?: number;
  /** First backoff; doubles per failed attempt up to `maxMs`. */
  firstMs?: number;
  maxMs?: number;
  /** The longest `Retry-After` honoured; a longer one fails the call instead, ms. */
  maxRetryAfterMs?: number;
  /** Consecutive failed attempts after which the last error is final. */
  maxAttempts?: number;
}

export interface RetryPolicy {
  readonly floorMs: number;
  readonly maxAttempts: number;
  /**
   * How long to wait before attempt `failures + 1` after `error`, or undefined when it must
   * not be retried (not transient, attempts used up, or the server asked for too long).
   */
  delay(failures: number, error: unknown): number | undefined;
  /** The wait after `failures` failed attempts when there is no error to go by (a stream that died young). */
  backoff(failures: number): number;
}

export const DEFAULT_RETRY: Required<RetryPolicyOptions> = {
  floorMs: 250,
  firstMs: 250,
  maxMs: 5_000,
  maxRetryAfterMs: 60_000,
  maxAttempts: 12,
};

/** Exponential backoff with jitter: attempt `n` waits 50–100 % of min(max, first × 2ⁿ), ms. */
export const backoffDelay = (n: number, firstMs: number, maxMs: number): number =>
  Math.min(maxMs, firstMs * 2 ** n) * (0.5 + Math.random() / 2);

const DELTA_SECONDS = /^\d{1,10}$/;
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
const HTTP_DATES = [
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * `Retry-After` as ms from `now`: delta-seconds or an HTTP-date, nothing else (`1.5`, `-1`,
 * `soon` and an empty value are ignored rather than guessed at). A past date is 0.
 */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === "") return undefined;
  if (DELTA_SECONDS.test(value)) return Number(value) * 1000;
  if (!HTTP_DATES.some((form) => form.test(value))) return undefined;
  const at = Date.parse(value.endsWith("GMT") ? value : `${value} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** An upstream error that carries the server's `Retry-After`, when it sent one. */
export const retryAfterOf = (error: unknown): number | undefined =>
  isMailEventsError(error) ? error.retryAfterMs : undefined;

export function retryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  const o = { ...DEFAULT_RETRY, ...options };
  const backoff = (failures: number) => Math.max(o.floorMs, backoffDelay(failures, o.firstMs, o.maxMs));
  return {
    floorMs: o.floorMs,
    maxAttempts: o.maxAttempts,
    backoff,
    delay(failures, error) {
      if (!isRetryable(error) || failures + 1 >= o.maxAttempts) return undefined;
      const retryAfter = retryAfterOf(error);
      if (retryAfter !== undefined && retryAfter > o.maxRetryAfterMs) return undefined;
      // The server may ask for longer than our backoff, never for less than the floor.
      return Math.max(backoff(failures), retryAfter ?? 0);
    },
  };
}
