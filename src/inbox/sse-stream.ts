import type { ServerResponse } from "node:http";
import type { EventLog } from "./event-log.js";
import { clientGone, waitForAppend } from "./http-util.js";
import type { LogRecord } from "./log-file.js";
import type { LogEntry } from "./log-index.js";

export interface SseStreamOptions {
  log: EventLog;
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
}

/**
 * Writes an identity's events as SSE from a position, then follows appends live, until the
 * window ends, the client leaves or the inbox closes. Reads a page at a time and honours
 * backpressure, so a slow client on a long log holds one page in memory, not the log.
 */
export async function streamEvents(res: ServerResponse, options: SseStreamOptions): Promise<void> {
  const { log, identity, accept, frame } = options;
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
  const write = (text: string): Promise<void> | undefined => {
    lastWrite = Date.now();
    if (res.write(text)) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.once("drain", done);
      res.once("close", done);
    });
  };
  const keepalive = setInterval(() => {
    if (Date.now() - lastWrite >= options.keepaliveMs - 5) void write(": keepalive\n\n");
  }, options.keepaliveMs);
  let cursor = options.after;
  try {
    while (!gone.aborted && !log.closed && Date.now() < windowEnd) {
      const page = log.index.page(identity, cursor, 200, accept);
      if (page.entries.length > 0) {
        const records = await log.read(page.entries);
        for (const record of records) await write(frame(record));
      }
      cursor = page.cursor;
      if (page.hasMore || page.entries.length > 0) continue;
      await waitForAppend(log, identity, Math.min(windowEnd - Date.now(), 2_147_483_647), gone);
    }
  } finally {
    clearInterval(keepalive);
    if (!res.writableEnded) res.end();
  }
}
