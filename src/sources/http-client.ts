import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { abortedError, MailEventsError } from "../errors.js";
import { discard, readCapped } from "./http-body.js";
import { networkError } from "./http-errors.js";
import { type Redactor, redactor } from "./redact.js";
import { parseRetryAfter, type RetryPolicy, type RetryPolicyOptions, retryPolicy } from "./retry-policy.js";

// undici is half a megabyte of JavaScript: load it on the first request, not at start-up,
// so `initialize` and `tools/list` are answered sooner (SPEC §7 cold start).
// `.default` is undici's module.exports, both under plain Node and in the bundle (where a lazily
// imported CommonJS package becomes a chunk with a default export only).
let undici: Promise<typeof import("undici").default> | undefined;
const loadUndici = () => {
  undici ??= import("undici").then((m) => m.default);
  return undici;
};

/** Loads the HTTP stack ahead of the first request (main.ts calls it once the client is initialized). */
export const preloadHttp = (): Promise<void> => loadUndici().then(() => {});

export interface HttpClientOptions {
  token?: string | undefined;
  /** Injected transport; production default: one keep-alive Agent for every upstream call. */
  dispatcher?: Dispatcher;
  /** How long past the long-poll window to wait for headers/body before giving up. */
  slackMs?: number;
  /** First retry delay; doubles per attempt up to `maxBackoffMs` (shorthands for `retry`). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The one retry policy, shared by the SSE streams; see retry-policy.ts. */
  retry?: RetryPolicyOptions;
  /** Largest response body read, in bytes; larger is a malformed payload. */
  maxBodyBytes?: number;
  /** Most bytes of an error body read for its message; the rest is never fetched. */
  maxErrorBodyBytes?: number;
  /**
   * Called when upstream cannot be reached at all, before the retry: the local source starts
   * the inbox here when the process that ran it went away, and the retry lands on it.
   */
  onUnreachable?: () => Promise<void>;
}

export interface CallOptions {
  signal: AbortSignal;
  /** How long the server may legitimately hold the request (long-poll window), ms. */
  holdMs?: number;
  /** Absolute epoch ms after which no retry is attempted, and no request outlives. */
  deadline: number;
  headers?: Record<string, string>;
  /**
   * An event stream: headers are due within the slack, then the body may stay open as long
   * as some byte arrives every `streamIdleMs`; there is no total deadline.
   */
  streamIdleMs?: number;
}

/**
 * HTTP for every source: one keep-alive pool; every request has its own deadline on the
 * socket (headers and body timeouts, and an AbortSignal for the whole exchange); bodies,
 * error bodies too, are read up to a cap; retries follow the one RetryPolicy within the
 * call's deadline. Nothing upstream sends reaches a message unredacted.
 */
export class HttpClient {
  readonly #token: string | undefined;
  #dispatcher: Dispatcher | undefined;
  readonly #ownsDispatcher: boolean;
  readonly #slackMs: number;
  readonly #maxBodyBytes: number;
  readonly #maxErrorBodyBytes: number;
  readonly #onUnreachable: (() => Promise<void>) | undefined;
  /** The retry policy every upstream request follows (the SSE streams use it too). */
  readonly retryPolicy: RetryPolicy;
  /** Hides the token in anything upstream sent, before it reaches a message or a log. */
  readonly redact: Redactor;

  constructor(options: HttpClientOptions = {}) {
    this.#token = options.token;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher;
    this.#slackMs = options.slackMs ?? 5_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
    this.#maxErrorBodyBytes = options.maxErrorBodyBytes ?? 4 * 1024;
    this.#onUnreachable = options.onUnreachable;
    this.retryPolicy = retryPolicy({
      ...(options.backoffMs === undefined ? {} : { firstMs: options.backoffMs }),
      ...(options.maxBackoffMs === undefined ? {} : { maxMs: options.maxBackoffMs }),
      ...options.retry,
    });
    this.redact = redactor(options.token);
  }

  /** Opens a request and checks its status; the caller consumes (or discards) the body. */
  async open(url: URL, options: CallOptions): Promise<Dispatcher.ResponseData> {
    return (await this.#send(url, options)).response;
  }

  /** GET and parse JSON, retrying transient failures until the deadline. */
  getJson(url: URL, options: CallOptions): Promise<unknown> {
    return this.retry(options, async () => {
      const { response, expired } = await this.#send(url, options);
      const text = await this.#readBody(response, url, options.signal, expired);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (error) {
        throw new MailEventsError(
          "UPSTREAM_BAD_PAYLOAD",
          `${url.origin} sent a response that is not JSON (${this.redact.text((error as Error).message).slice(0, 200)}); the service may be misconfigured — check MAIL_EVENTS_URL`,
        );
      }
      return this.redact.value(parsed);
    });
  }

  /**
   * Runs `attempt` until it succeeds, fails for good, or the deadline would pass. A retry cut
   * short by the deadline says what upstream last answered (HTTP 500, say), not only that time
   * ran out: that is what the user has to act on.
   */
  async retry<T>(options: Pick<CallOptions, "signal" | "deadline">, attempt: () => Promise<T>): Promise<T> {
    let answered: MailEventsError | undefined;
    for (let failures = 0; ; failures++) {
      try {
        return await attempt();
      } catch (error) {
        if (options.signal.aborted) throw error;
        if (this.#onUnreachable && error instanceof MailEventsError && error.code === "UPSTREAM_NETWORK") {
          await this.#onUnreachable();
        }
        const wait = this.retryPolicy.delay(failures, error);
        if (wait === undefined || Date.now() + wait >= options.deadline) {
          const timedOut = error instanceof MailEventsError && error.code === "UPSTREAM_TIMEOUT";
          throw timedOut && answered !== undefined ? answered : error;
        }
        if (error instanceof MailEventsError && error.status !== undefined) answered = error;
        try {
          await sleep(wait, undefined, { signal: options.signal });
        } catch {
          throw abortedError(error);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher?.destroy();
  }

  async #send(
    url: URL,
    options: CallOptions,
  ): Promise<{ response: Dispatcher.ResponseData; expired: AbortSignal | undefined }> {
    const holdMs = options.holdMs ?? 0;
    const stream = options.streamIdleMs !== undefined;
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    // A plain request's deadline covers the whole exchange, body included, and never goes
    // past the call's; a stream has none (it lives as long as bytes keep coming).
    const totalMs = Math.max(1, Math.min(holdMs + 2 * this.#slackMs, options.deadline - Date.now()));
    const expired = stream ? undefined : AbortSignal.timeout(totalMs);
    const signal = expired ? AbortSignal.any([options.signal, expired]) : options.signal;
    let response: Dispatcher.ResponseData;
    try {
      const { Agent, request } = await loadUndici();
      this.#dispatcher ??= new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connections: 128,
      });
      response = await request(url, {
        method: "GET",
        headers,
        signal,
        dispatcher: this.#dispatcher,
        headersTimeout: stream ? this.#slackMs : holdMs + this.#slackMs,
        bodyTimeout: stream ? (options.streamIdleMs ?? 0) : holdMs + this.#slackMs,
      });
    } catch (error) {
      throw this.#redacted(networkError(error, url, options.signal, expired));
    }
    if (response.statusCode < 300) return { response, expired };
    throw await this.#statusError(response, url);
  }

  async #statusError(response: Dispatcher.ResponseData, url: URL): Promise<MailEventsError> {
    const detail = this.#errorDetail(await readCapped(response.body, this.#maxErrorBodyBytes, this.#slackMs));
    const status = response.statusCode;
    if (status === 401 || status === 403) {
      return new MailEventsError(
        "UPSTREAM_AUTH",
        `${url.origin} refused the credentials (HTTP ${status}${detail}); check MAIL_EVENTS_TOKEN`,
        { status },
      );
    }
    const retryAfter = parseRetryAfter(response.headers["retry-after"]);
    if (status === 429) {
      return new MailEventsError(
        "UPSTREAM_RATE_LIMITED",
        `${url.origin} is rate limiting (HTTP 429${detail}); slow down or try again later`,
        { status, retryAfterMs: retryAfter },
      );
    }
    return new MailEventsError("UPSTREAM_HTTP", `${url.origin} answered HTTP ${status}${detail}`, {
      status,
      retryAfterMs: retryAfter,
    });
  }

  async #readBody(
    response: Dispatcher.ResponseData,
    url: URL,
    signal: AbortSignal,
    expired: AbortSignal | undefined,
  ): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.#maxBodyBytes) {
          discard(response.body);
          throw new MailEventsError(
            "UPSTREAM_BAD_PAYLOAD",
            `${url.origin} sent more than ${this.#maxBodyBytes} bytes in one response; lower \`limit\` or check MAIL_EVENTS_URL`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw this.#redacted(networkError(error, url, signal, expired));
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /** `: <message>` from an error body (JSON `message`/`error`, else its text), redacted. */
  #errorDetail(raw: string): string {
    const text = this.redact.text(raw);
    if (text.trim() === "") return "";
    try {
      const body = JSON.parse(text) as { error?: unknown; message?: unknown };
      const message = body.message ?? body.error;
      return typeof message === "string" ? `: ${this.redact.text(message).slice(0, 200)}` : "";
    } catch {
      return `: ${text.slice(0, 300).replace(/\s+/g, " ").slice(0, 120)}`;
    }
  }

  /** A transport error's message may quote what the peer sent: it is redacted like a body. */
  #redacted(error: unknown): unknown {
    if (!(error instanceof MailEventsError)) return error;
    const message = this.redact.text(error.message);
    if (message === error.message) return error;
    return new MailEventsError(error.code, message, {
      ...(error.status === undefined ? {} : { status: error.status }),
    });
  }
}
