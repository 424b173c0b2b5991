import { isMailEventsError, isRetryable, MailEventsError, unknownIdentity } from "../errors.js";
import type { RetryPolicy } from "./retry-policy.js";

/** How the connection that just ended went. */
export interface Ending {
  now: number;
  openedAt: number | undefined;
  /** New events it carried. */
  messages: number;
  /** Why it ended; undefined: upstream closed it cleanly. */
  error: unknown;
  /** Failures in a row before this one. */
  failures: number;
  /** The `retry:` upstream asked for, already capped. */
  serverRetryMs: number | undefined;
  kind: string;
  identity: string;
}

/** Failures in a row now, and either when to reconnect or the error that ends the stream. */
export type Next = { failures: number } & ({ retryAt: number; lastError?: unknown } | { fatal: unknown });

/**
 * What follows a connection's end. One that carried events or lived a while was healthy:
 * reconnect at once (mails closes every ≤ 25 s by design). One that died young backs off, so
 * a server that hangs up immediately is not hammered — with the same policy as every HTTP
 * request: a floor, backoff, Retry-After, an attempt cap.
 */
export function afterEnding(end: Ending, policy: RetryPolicy): Next {
  const { now, error } = end;
  const healthy = end.openedAt !== undefined && (end.messages > 0 || now - end.openedAt >= 1_000);
  let failures = healthy ? 0 : end.failures;
  if (error === undefined) {
    const wait = healthy ? (end.serverRetryMs ?? 0) : policy.backoff(failures++);
    return { retryAt: now + wait, failures };
  }
  if (isRetryable(error) && (healthy || policy.delay(failures, error) !== undefined)) {
    const wait = healthy ? 0 : (policy.delay(failures++, error) ?? 0);
    return { retryAt: now + wait, failures, lastError: error };
  }
  // Attempts used up, or upstream asked us to wait too long.
  if (isRetryable(error)) return { failures, fatal: error };
  if (isMailEventsError(error) && error.status === 404)
    return { failures, fatal: unknownIdentity(end.kind, end.identity, error) };
  return {
    failures,
    fatal: isMailEventsError(error)
      ? error
      : new MailEventsError("UPSTREAM_NETWORK", `the ${end.kind} stream failed: ${String(error)}`, {
          cause: error,
        }),
  };
}
