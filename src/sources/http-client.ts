import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { isRetryable, MailEventsError } from "../errors.js";

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
  /** First retry delay; doubles per attempt up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Largest response body read, in bytes; larger is a malformed payload. */
  maxBodyBytes?: number;
}

export interface CallOptions {
  signal: AbortSignal;
  /** How long the server may legitimately hold the request (long-poll window), ms. */
  holdMs?: number;
  /** Absolute epoch ms after which no retry is attempted. */
  deadline: number;
  headers?: Record<string, string>;
}

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

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Exponential backoff with jitter: attempt `n` waits 50–100 % of min(max, first × 2ⁿ), ms. */
export const backoffDelay = (n: number, firstMs: number, maxMs: number): number =>
  Math.min(maxMs, firstMs * 2 ** n) * (0.5 + Math.random() / 2);

/** Rate-limit errors remember how long upstream asked us to wait. */
export class RateLimitedError extends MailEventsError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfter: number | undefined) {
    super("UPSTREAM_RATE_LIMITED", message, { status: 429 });
    this.retryAfterMs = retryAfter;
  }
}

/** Maps a thrown transport error to a MailEventsError (abort stays an abort). */
export function networkError(error: unknown, url: URL, signal: AbortSignal): unknown {
  if (signal.aborted) return new MailEventsError("ABORTED", "the call was cancelled", { cause: error });
  if (error instanceof MailEventsError) return error;
  const code = (error as { code?: string }).code ?? "";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new MailEventsError(
      "UPSTREAM_TIMEOUT",
      `${url.origin} did not answer in time (${code}); it may be overloaded — try again, or check MAIL_EVENTS_URL`,
      { cause: error },
    );
  }
  const reason = NETWORK_CODES.has(code) ? code : (error as Error).message || code || "unknown error";
  return new MailEventsError(
    "UPSTREAM_NETWORK",
    `cannot reach ${url.origin} (${reason}); check MAIL_EVENTS_URL and that the service is up`,
    { cause: error },
  );
}

/**
 * HTTP for every source: one keep-alive pool, per-request header/body timeouts just above
 * the long-poll window, the call's AbortSignal on the socket, and retries with backoff
 * (honouring Retry-After) for network errors, 5xx and 429 within the call's deadline.
 */
export class HttpClient {
  readonly #token: string | undefined;
  #dispatcher: Dispatcher | undefined;
  readonly #ownsDispatcher: boolean;
  readonly #slackMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxBodyBytes: number;

  constructor(options: HttpClientOptions = {}) {
    this.#token = options.token;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher;
    this.#slackMs = options.slackMs ?? 5_000;
    this.#backoffMs = options.backoffMs ?? 200;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  }

  /** Opens a request and checks its status; the caller consumes (or discards) the body. */
  async open(url: URL, options: CallOptions): Promise<Dispatcher.ResponseData> {
    const holdMs = options.holdMs ?? 0;
    const headers: Record<string, string> = { accept: "application/json", ...options.headers };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
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
        signal: options.signal,
        dispatcher: this.#dispatcher,
        headersTimeout: holdMs + this.#slackMs,
        bodyTimeout: holdMs + this.#slackMs,
      });
    } catch (error) {
      throw networkError(error, url, options.signal);
    }
    if (response.statusCode < 300) return response;
    const detail = await this.#errorDetail(response);
    const status = response.statusCode;
    if (status === 401 || status === 403) {
      throw new MailEventsError(
        "UPSTREAM_AUTH",
        `${url.origin} refused the credentials (HTTP ${status}${detail}); check MAIL_EVENTS_TOKEN`,
        { status },
      );
    }
    if (status === 429) {
      throw new RateLimitedError(
        `${url.origin} is rate limiting (HTTP 429${detail}); slow down or try again later`,
        retryAfterMs(response.headers["retry-after"]),
      );
    }
    throw new MailEventsError("UPSTREAM_HTTP", `${url.origin} answered HTTP ${status}${detail}`, { status });
  }

  /** GET and parse JSON, retrying transient failures until the deadline. */
  getJson(url: URL, options: CallOptions): Promise<unknown> {
    return this.retry(options, async () => {
      const response = await this.open(url, options);
      const text = await this.#readBody(response, url, options.signal);
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new MailEventsError(
          "UPSTREAM_BAD_PAYLOAD",
          `${url.origin} sent a response that is not JSON (${(error as Error).message}); the service may be misconfigured — check MAIL_EVENTS_URL`,
          { cause: error },
        );
      }
    });
  }

  /** Runs `attempt` until it succeeds, fails for good, or the deadline would pass. */
  async retry<T>(options: Pick<CallOptions, "signal" | "deadline">, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isRetryable(error) || options.signal.aborted) throw error;
        const backoff = backoffDelay(n, this.#backoffMs, this.#maxBackoffMs);
        const wait = error instanceof RateLimitedError ? (error.retryAfterMs ?? backoff) : backoff;
        if (Date.now() + wait >= options.deadline) throw error;
        try {
          await sleep(wait, undefined, { signal: options.signal });
        } catch {
          throw new MailEventsError("ABORTED", "the call was cancelled", { cause: error });
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher?.destroy();
  }

  async #readBody(response: Dispatcher.ResponseData, url: URL, signal: AbortSignal): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.#maxBodyBytes) {
          response.body.destroy();
          throw new MailEventsError(
            "UPSTREAM_BAD_PAYLOAD",
            `${url.origin} sent more than ${this.#maxBodyBytes} bytes in one response; lower \`limit\` or check MAIL_EVENTS_URL`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw networkError(error, url, signal);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  async #errorDetail(response: Dispatcher.ResponseData): Promise<string> {
    try {
      const text = (await response.body.text()).slice(0, 300);
      if (text === "") return "";
      try {
        const body = JSON.parse(text) as { error?: unknown; message?: unknown };
        const message = body.message ?? body.error;
        return typeof message === "string" ? `: ${message.slice(0, 200)}` : "";
      } catch {
        return `: ${text.replace(/\s+/g, " ").slice(0, 120)}`;
      }
    } catch {
      return "";
    }
  }
}
