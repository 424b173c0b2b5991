import type { ServerResponse } from "node:http";
import { LoopbackServer } from "./loopback-server.js";

/** What to send for one request: a status and body, or full control of the response. */
export type Junk =
  | { status?: number; contentType?: string; body: string | Uint8Array }
  | { write: (res: ServerResponse) => void };

const EMPTY_PAGE = JSON.stringify({ identity: "junk@x.test", events: [], cursor: 0, hasMore: false });

/**
 * An upstream that answers each request with the next queued junk (FIFO), or with a valid
 * empty inboxbase page when the queue is empty. For fuzzing what the server accepts.
 */
export class JunkUpstream {
  readonly queue: Junk[] = [];
  /** Answered when the queue is empty (default: a valid empty inboxbase page). */
  fallback: Junk = { body: EMPTY_PAGE };
  requests = 0;
  url = "";
  #server = new LoopbackServer((req, res) => {
    this.requests++;
    req.resume();
    const junk = this.queue.shift() ?? this.fallback;
    if ("write" in junk) {
      junk.write(res);
      return;
    }
    res.writeHead(junk.status ?? 200, { "content-type": junk.contentType ?? "application/json" });
    res.end(junk.body);
  });

  async start(): Promise<this> {
    this.url = await this.#server.listen();
    return this;
  }

  async close(): Promise<void> {
    this.#server.close();
  }
}
