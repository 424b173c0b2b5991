import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { seeded } from "../helpers/fuzz-seed.js";
import { LoopbackServer } from "./loopback-server.js";

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

export const frameText = (f: SseFrame): string =>
  `${f.id === undefined ? "" : `id: ${f.id}\n`}${f.event === undefined ? "" : `event: ${f.event}\n`}${f.data
    .split("\n")
    .map((line) => `data: ${line}\n`)
    .join("")}\n`;

/** One open SSE response as the fake sees it. */
export interface SseConnection {
  url: URL;
  headers: IncomingMessage["headers"];
  /** Resolves when the client (or the fake) closed the socket. */
  closed: Promise<void>;
  isClosed: () => boolean;
  /** Resolves once everything queued so far has been written. */
  flushed: () => Promise<void>;
  res: ServerResponse;
}

export interface SseServerOptions {
  token?: string;
  /** Cut some frames in two TCP writes with a pause between them. */
  splitFrames?: boolean;
  seed?: number;
}

/**
 * What both SSE fakes share: a real node:http server on 127.0.0.1:0, bearer auth, a
 * per-connection write queue that can cut frames in half across TCP writes, and a record
 * of every connection (and when its socket closed) for the tests to inspect.
 */
export abstract class SseServer {
  url = "";
  readonly connections: SseConnection[] = [];
  readonly rng: () => number;
  token: string | undefined;
  splitFrames: boolean;
  /** Answered instead of the next request(s) (FIFO), e.g. 401 or 503. */
  readonly failNext: { status: number; body?: string; retryAfter?: string }[] = [];
  #server = new LoopbackServer((req, res) => this.#route(req, res));

  constructor(options: SseServerOptions = {}) {
    this.token = options.token;
    this.splitFrames = options.splitFrames ?? false;
    this.rng = seeded(options.seed ?? 1);
  }

  async start(): Promise<this> {
    this.url = await this.#server.listen();
    return this;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.res.destroy();
    this.#server.close();
    await once(this.#server.server, "close").catch(() => {});
  }

  /** Connections currently open. */
  get open(): SseConnection[] {
    return this.connections.filter((c) => !c.isClosed());
  }

  /** Ends every open connection, as a server restart or proxy timeout would. */
  dropAll(): void {
    for (const c of this.open) c.res.destroy();
  }

  protected abstract handle(conn: SseConnection, send: (text: string) => void): void;

  #route(req: IncomingMessage, res: ServerResponse): void {
    const fault = this.failNext.shift();
    if (fault) {
      res.writeHead(fault.status, {
        "content-type": "application/json",
        ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
      });
      res.end(fault.body ?? JSON.stringify({ error: `fault ${fault.status}` }));
      return;
    }
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid api key" }));
      return;
    }
    let closed = false;
    // Writes are chained so a frame cut in two still arrives in order.
    let chain = Promise.resolve();
    const conn: SseConnection = {
      url: new URL(req.url ?? "/", this.url),
      headers: req.headers,
      closed: once(res, "close").then(() => {
        closed = true;
      }),
      isClosed: () => closed,
      flushed: () => chain,
      res,
    };
    this.connections.push(conn);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    const send = (text: string) => {
      chain = chain.then(async () => {
        if (closed || res.writableEnded) return;
        if (this.splitFrames && text.length > 1 && this.rng() < 0.5) {
          const bytes = Buffer.from(text);
          const at = 1 + Math.floor(this.rng() * (bytes.length - 1));
          res.write(bytes.subarray(0, at));
          await sleep(1);
          if (!closed) res.write(bytes.subarray(at));
        } else {
          res.write(text);
        }
      });
    };
    this.handle(conn, send);
  }

  /** Ends a connection after everything queued on it has been written. */
  protected async end(conn: SseConnection): Promise<void> {
    await conn.flushed();
    if (!conn.isClosed()) conn.res.end();
  }
}
