import { abortedError, MailEventsError } from "../errors.js";
import { discard } from "./http-body.js";
import type { HttpClient } from "./http-client.js";
import { networkError } from "./http-errors.js";
import { createSseParser, type SseMessage } from "./sse-parser.js";

export type { SseMessage } from "./sse-parser.js";

export interface SseHandlers {
  /** Headers arrived with a 2xx status: the stream is live. */
  onOpen?(): void;
  onMessage(message: SseMessage): void;
  /** An id-only frame: the server set the last event id without sending an event. */
  onId?(id: string): void;
  /** The server's `retry:` field, in ms. */
  onRetry?(ms: number): void;
  /** Any bytes arrived (comments and keepalives included): the connection is alive. */
  onActivity?(): void;
}

export interface SseOptions {
  url: URL;
  headers?: Record<string, string>;
  /** Aborting it destroys the socket at once; the promise then rejects with ABORTED. */
  signal: AbortSignal;
  /** How long the stream may stay silent (no byte, not even a keepalive) before it is dropped. */
  idleMs: number;
  /**
   * Largest number of characters buffered without a line or a frame completing (a line that
   * never ends, or an endless run of `data:` lines). Above it the connection is dropped with
   * UPSTREAM_BAD_PAYLOAD instead of growing memory without bound.
   */
  maxBufferChars?: number;
}

export const DEFAULT_MAX_BUFFER_CHARS = 1024 * 1024;

/**
 * Opens one SSE connection through `http.open` (so 401/403, 429, 5xx and network failures
 * map to the same errors as every other request) and reads it to its end with a fresh
 * parser. Resolves when the server closes the stream; rejects with a MailEventsError.
 * One attempt only: the caller owns reconnection, because only it knows where to resume.
 */
export async function readSse(http: HttpClient, options: SseOptions, handlers: SseHandlers): Promise<void> {
  const { url, signal } = options;
  const response = await http.open(url, {
    signal,
    streamIdleMs: options.idleMs,
    deadline: Number.POSITIVE_INFINITY,
    headers: { accept: "text/event-stream", "cache-control": "no-cache", ...options.headers },
  });
  const contentType = String(response.headers["content-type"] ?? "");
  if (contentType !== "" && !contentType.includes("text/event-stream")) {
    discard(response.body);
    const shown = http.redact.text(contentType.split(";")[0] ?? "").slice(0, 80);
    throw new MailEventsError(
      "UPSTREAM_BAD_PAYLOAD",
      `${url.origin} answered with ${shown} instead of an event stream; check MAIL_EVENTS_URL and MAIL_EVENTS_SOURCE`,
    );
  }
  handlers.onOpen?.();
  const max = options.maxBufferChars ?? DEFAULT_MAX_BUFFER_CHARS;
  const parser = createSseParser(
    {
      onEvent: (message) => handlers.onMessage(message),
      onId: (id) => handlers.onId?.(id),
      onRetry: (ms) => handlers.onRetry?.(ms),
    },
    { maxLineChars: max, maxFrameChars: max },
  );
  // `stream: true` keeps a multi-byte character that is split across TCP reads intact.
  const decoder = new TextDecoder("utf-8");
  let overflow: string | undefined;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      handlers.onActivity?.();
      overflow = parser.feed(decoder.decode(chunk, { stream: true }));
      if (overflow !== undefined) break;
    }
  } catch (error) {
    throw networkError(error, url, signal);
  } finally {
    discard(response.body);
  }
  if (overflow !== undefined) {
    // Reading on would mean buffering without limit: the connection is dropped.
    throw new MailEventsError(
      "UPSTREAM_BAD_PAYLOAD",
      `${url.origin} sent more than ${max} characters without completing a${overflow === "line" ? " line" : "n event"}; the connection was dropped — check MAIL_EVENTS_URL or report it to the provider`,
    );
  }
  if (signal.aborted) throw abortedError();
}
