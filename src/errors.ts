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
  | "INBOX_REQUEST_REFUSED"
  | "INBOX_MESSAGE_REFUSED"
  | "STATE_DIR"
  | "EMAIL_NOT_FOUND"
  | "ABORTED";

export class MailEventsError extends Error {
  override readonly name = "MailEventsError";
  readonly code: ErrorCode;
  /** HTTP status from upstream (or the inbox's answer to a request), when there was one. */
  readonly status: number | undefined;
  /** How long upstream asked us to wait before retrying (429, 5xx with Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; retryAfterMs?: number | undefined } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Which inbox listener could not bind, with the variable (and flag) that moves it. */
export const PORT_SETTING = {
  smtp: { name: "SMTP", env: "MAIL_EVENTS_SMTP_PORT", flag: "--smtp-port" },
  http: { name: "HTTP", env: "MAIL_EVENTS_HTTP_PORT", flag: "--http-port" },
} as const;

/**
 * A port the inbox needs is taken (or forbidden). `ensureInbox` catches it to look for a
 * running inbox there; otherwise the message tells the user which variable to change.
 */
export class PortInUseError extends MailEventsError {
  readonly which: keyof typeof PORT_SETTING;
  readonly port: number;

  constructor(which: keyof typeof PORT_SETTING, port: number, detail: string, cause?: unknown) {
    const s = PORT_SETTING[which];
    super(
      "INBOX_PORT_IN_USE",
      `the local inbox cannot listen on ${s.name} port ${port}: ${detail}; set ${s.env} (${s.flag}) to a free port`,
      { cause },
    );
    this.which = which;
    this.port = port;
  }
}

/** A request the inbox's HTTP side refuses; answered as `{ "error": message }` with `status`. */
export class InboxRequestError extends MailEventsError {
  override readonly status: number;
  constructor(status: number, message: string) {
    super("INBOX_REQUEST_REFUSED", message, { status });
    this.status = status;
  }
}

/** A message the inbox's SMTP side refuses; smtp-server answers `responseCode` and the message. */
export class SmtpReplyError extends MailEventsError {
  readonly responseCode: number;
  constructor(responseCode: number, message: string, cause?: unknown) {
    super("INBOX_MESSAGE_REFUSED", message, { cause });
    this.responseCode = responseCode;
  }
}

/** The caller cancelled (client cancel, shutdown): one message wherever a wait notices it. */
export const abortedError = (cause?: unknown): MailEventsError =>
  new MailEventsError("ABORTED", "the call was cancelled", cause === undefined ? {} : { cause });

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
