import { abortedError, MailEventsError } from "../errors.js";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const timeoutError = (url: URL, why: string, cause?: unknown) =>
  new MailEventsError(
    "UPSTREAM_TIMEOUT",
    `${url.origin} did not answer in time (${why}); it may be overloaded — try again, or check MAIL_EVENTS_URL`,
    { cause },
  );

/**
 * Maps a thrown transport error to a MailEventsError: the caller's abort stays ABORTED, the
 * request's own deadline (`expired`) becomes UPSTREAM_TIMEOUT.
 */
export function networkError(error: unknown, url: URL, signal: AbortSignal, expired?: AbortSignal): unknown {
  if (signal.aborted) return abortedError(error);
  if (error instanceof MailEventsError) return error;
  if (expired?.aborted) return timeoutError(url, "request deadline", error);
  const code = (error as { code?: string }).code ?? "";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT")
    return timeoutError(url, code, error);
  const reason = NETWORK_CODES.has(code) ? code : (error as Error).message || code || "unknown error";
  return new MailEventsError(
    "UPSTREAM_NETWORK",
    `cannot reach ${url.origin} (${reason}); check MAIL_EVENTS_URL and that the service is up`,
    { cause: error },
  );
}
