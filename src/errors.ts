/**
 * Every failure a user can hit carries a stable `code` and a message that says what happened
 * and what to do. Tools throw these; `toToolError` in `tools/result.ts` is the one place that
 * turns them into `isError` results.
 */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "UPSTREAM_AUTH"
  | "UPSTREAM_UNKNOWN_IDENTITY"
  | "UPSTREAM_RATE_LIMITED"
  | "UPSTREAM_BAD_PAYLOAD"
  | "UPSTREAM_HTTP"
  | "UPSTREAM_NETWORK"
  | "UPSTREAM_TIMEOUT"
  | "IDENTITY_REQUIRED"
  | "INVALID_INPUT"
  | "CURSOR_STORE"
  | "STORE_UNAVAILABLE"
  | "INBOX_PORT_IN_USE"
  | "INBOX_STATE_LOCKED"
  | "STATE_DIR"
  | "EMAIL_NOT_FOUND"
  | "ABORTED";

export class MailEventsError extends Error {
  override readonly name = "MailEventsError";
  readonly code: ErrorCode;
  /** HTTP status from upstream, when there was one. */
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

export const isMailEventsError = (error: unknown): error is MailEventsError =>
  error instanceof MailEventsError;

/** True for failures worth retrying within the call's deadline (network, 5xx, 429). */
export const isRetryable = (error: unknown): boolean =>
  isMailEventsError(error) &&
  (error.code === "UPSTREAM_NETWORK" ||
    error.code === "UPSTREAM_RATE_LIMITED" ||
    error.code === "UPSTREAM_TIMEOUT" ||
    (error.code === "UPSTREAM_HTTP" && (error.status ?? 0) >= 500));

/** Upstream answered 404 for an identity: the message names it and where it came from. */
export const unknownIdentity = (source: string, identity: string, cause: unknown): MailEventsError =>
  new MailEventsError(
    "UPSTREAM_UNKNOWN_IDENTITY",
    `${source} does not know the identity ${JSON.stringify(identity)} (HTTP 404); check the identity argument or MAIL_EVENTS_IDENTITY`,
    { status: 404, cause },
  );
