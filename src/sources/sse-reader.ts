import { createParser, type EventSourceMessage } from "eventsource-parser";
import { MailEventsError } from "../errors.js";
import { type HttpClient, networkError } from "./http-client.js";

/** One dispatched SSE frame: `id` and `event` as sent on that frame (never inherited). */
export type SseMessage = EventSourceMessage;

export interface SseHandlers {
  /** Headers arrived with a 2xx status: the stream is live. */
  onOpen?(): void;
  onMessage(message: SseMessage): void;
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
   * Largest number of characters buffered without a frame completing (a line that never
   * ends, or an endless run of `data:` lines). Above it the connection is dropped with
   * UPSTREAM_BAD_PAYLOAD instead of growing memory without bound.
   */
  maxBufferChars?: number;
}

export const DEFAULT_MAX_BUFFER_CHARS = 1024 * 1024;

/** Closes a body we stop reading; undici reports that as an error nobody needs to hear. */
function discard(body: { destroyed: boolean; on(event: "error", fn: () => void): unknown; destroy(): void }) {
  if (body.destroyed) return;
  body.on("error", () => {});
  body.destroy();
}

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
    holdMs: options.idleMs,
    deadline: Number.POSITIVE_INFINITY,
    headers: { accept: "text/event-stream", "cache-control": "no-cache", ...options.headers },
  });
  const contentType = String(response.headers["content-type"] ?? "");
  if (contentType !== "" && !contentType.includes("text/event-stream")) {
    discard(response.body);
    throw new MailEventsError(
      "UPSTREAM_BAD_PAYLOAD",
      `${url.origin} answered with ${contentType.split(";")[0]} instead of an event stream; check MAIL_EVENTS_URL and MAIL_EVENTS_SOURCE`,
    );
  }
  handlers.onOpen?.();
  const maxBufferChars = options.maxBufferChars ?? DEFAULT_MAX_BUFFER_CHARS;
  let failure: MailEventsError | undefined;
  const parser = createParser({
    onEvent: (message) => handlers.onMessage(message),
    onRetry: (ms) => handlers.onRetry?.(ms),
    onError: (error) => {
      // Unknown fields and bad `retry` values are ignored, as the SSE spec asks; only an
      // unbounded frame is fatal, since reading on would mean buffering without limit.
      if (error.type === "max-buffer-size-exceeded") {
        failure = new MailEventsError(
          "UPSTREAM_BAD_PAYLOAD",
          `${url.origin} sent more than ${maxBufferChars} characters without completing an event; the connection was dropped — check MAIL_EVENTS_URL or report it to the provider`,
        );
      }
    },
    maxBufferSize: maxBufferChars,
  });
  // `stream: true` keeps a multi-byte character that is split across TCP reads intact.
  const decoder = new TextDecoder("utf-8");
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      handlers.onActivity?.();
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (failure) break;
    }
  } catch (error) {
    throw networkError(error, url, signal);
  } finally {
    discard(response.body);
  }
  if (failure) throw failure;
  if (signal.aborted) throw new MailEventsError("ABORTED", "the call was cancelled");
}
