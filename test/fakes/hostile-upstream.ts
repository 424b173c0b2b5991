import type { IncomingMessage, ServerResponse } from "node:http";
import { LoopbackServer } from "./loopback-server.js";

/** How the hostile upstream answers every request. */
export type Hostility =
  | { kind: "status"; status: number; retryAfter?: string; body?: string; contentType?: string }
  | { kind: "endless-body"; status: number }
  | { kind: "hang" }
  /** `status` answered to the first `times` requests, then every later one hangs. */
  | { kind: "status-then-hang"; status: number; times: number }
  | { kind: "sse"; body: string };

/**
 * An upstream that misbehaves the same way on every request, whatever the path (so it
 * serves the cursor endpoint and both SSE dialects alike): a fixed status with a chosen
 * Retry-After, a body that never ends, a socket accepted and never answered, or a raw SSE
 * body. It counts requests and can echo the request's Authorization header into bodies.
 */
export class HostileUpstream {
  behaviour: Hostility = { kind: "hang" };
  readonly requestTimes: number[] = [];
  url = "";
  #server = new LoopbackServer((req, res) => this.#handle(req, res));

  async start(): Promise<this> {
    this.url = await this.#server.listen();
    return this;
  }

  /** Requests received since `from` (epoch ms). */
  requestsSince(from: number): number {
    return this.requestTimes.filter((t) => t >= from).length;
  }

  async close(): Promise<void> {
    this.#server.close();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requestTimes.push(Date.now());
    req.resume();
    const b = this.behaviour;
    // `{auth}` in a body is replaced by the Authorization header the client sent.
    const echo = (text: string) => text.replaceAll("{auth}", req.headers.authorization ?? "");
    switch (b.kind) {
      case "hang":
        return;
      case "status-then-hang":
        if (this.requestTimes.length > b.times) return;
        res
          .writeHead(b.status, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "down" }));
        return;
      case "status": {
        const headers: Record<string, string> = { "content-type": b.contentType ?? "application/json" };
        if (b.retryAfter !== undefined) headers["retry-after"] = b.retryAfter;
        res.writeHead(b.status, headers).end(echo(b.body ?? JSON.stringify({ error: `fault ${b.status}` })));
        return;
      }
      case "sse":
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(echo(b.body));
        return;
      case "endless-body": {
        res.writeHead(b.status, { "content-type": "text/plain" });
        const chunk = "x".repeat(64 * 1024);
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once("drain", pump);
        };
        pump();
      }
    }
  }
}
