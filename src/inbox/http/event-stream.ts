import type { ServerResponse } from "node:http";
import type { InboxLog } from "../log/inbox-log.js";
import { eventId, type LogRecord } from "../log/log-format.js";
import type { LogEntry } from "../log/log-index.js";
import { clientGone, waitForAppend } from "./http-util.js";

export interface SseStreamOptions {
  log: InboxLog;
  identity: string;
  /** Stream events with seq greater than this. */
  after: number;
  accept: (entry: LogEntry) => boolean;
  /** One SSE frame (ending in a blank line) for a record. */
  frame: (record: LogRecord) => string;
  /** A `: keepalive` comment goes out after this much silence. */
  keepaliveMs: number;
  /** Close the response after this long (the mails dialect's bounded connections); 0 = never. */
  windowMs: number;
  /** Most bytes queued for a client that does not read; past it the client is dropped. */
  maxBufferedBytes?: number;
  /** Longest a client may leave its queue undrained before it is dropped, ms. */
  stallMs?: number;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_STALL_MS = 30_000;

/**
 * Writes an identity's events as SSE from a position, then follows appends live, until the
 * window ends, the client leaves or the inbox closes. Reads a page at a time and honours
 * backpressure, so a slow client on a long log holds one page in memory, not the log; a
 * client that stops reading is dropped once its queue passes a cap, stays full too long or
 * its window ends, and waiting on it never adds a listener per write.
 *
 * The stream opens with an id-only frame naming where it starts (WHATWG SSE lets a server
 * set the last event id that way): a client that sees no event before the connection ends
 * still resumes from there, so mail landing in the reconnect gap is not lost.
 */
export async function streamEvents(res: ServerResponse, options: SseStreamOptions): Promise<void> {
  const { log, identity, accept, frame } = options;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const gone = clientGone(res);
  const windowEnd = options.windowMs > 0 ? Date.now() + options.windowMs : Number.POSITIVE_INFINITY;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
  let lastWrite = Date.now();
  const drop = () => {
    if (!res.destroyed) res.destroy();
  };
  /** Queues `text`; false when the client is gone or was just dropped for not reading. */
  const send = (text: string): boolean => {
    if (res.destroyed || res.writableEnded) return false;
    // Checked before writing, so one large frame still goes to a client that keeps up.
    if (res.writableLength > maxBuffered) {
      drop();
      return false;
    }
    lastWrite = Date.now();
    res.write(text);
    return true;
  };
  /** Resolves once the queue drained; drops the client if it does not within its time. */
  const drained = (): Promise<void> => {
    if (!res.writableNeedDrain || res.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      const timer = setTimeout(
        () => {
          drop();
          done();
        },
        Math.max(0, Math.min(stallMs, windowEnd - Date.now())),
      );
      res.once("drain", done);
      res.once("close", done);
    });
  };
  const keepalive = setInterval(() => {
    // A client still sitting on queued bytes needs no keepalive: it gets nothing more.
    if (!res.writableNeedDrain && Date.now() - lastWrite >= options.keepaliveMs - 5) send(": keepalive\n\n");
  }, options.keepaliveMs);
  let cursor = options.after;
  try {
    send(`id: ${eventId(log.epoch, cursor)}\n\n`);
    while (!gone.aborted && !log.closed && Date.now() < windowEnd) {
      const page = log.index.page(identity, cursor, 200, accept);
      if (page.entries.length > 0) {
        const records = await log.read(page.entries);
        for (const record of records) {
          if (!send(frame(record))) return;
          await drained();
          if (res.destroyed) return;
        }
      }
      cursor = page.cursor;
      if (page.hasMore || page.entries.length > 0) continue;
      await waitForAppend(log, identity, Math.min(windowEnd - Date.now(), 2_147_483_647), gone);
    }
  } finally {
    clearInterval(keepalive);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
