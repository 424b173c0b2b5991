import type { IncomingMessage, ServerResponse } from "node:http";
import { LoopbackServer } from "./loopback-server.js";

/** One event as the vendor stores it. */
export interface FakeEvent {
  seq: number;
  id: string;
  type: string;
  ts: number;
  data: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A fault served instead of the next normal answer (FIFO). */
export type Fault =
  | { kind: "status"; status: number; body?: string; retryAfter?: string }
  | { kind: "malformed" }
  | { kind: "reset" }
  | { kind: "hang" };

interface Waiter {
  identity: string;
  wake: () => void;
}

/**
 * A real HTTP server implementing the inboxbase cursor endpoint (SPEC §1.1): per-identity
 * seq, `since`/`types`/`limit`, long-poll up to 25 s woken by appends, `hasMore`, bearer
 * auth, 404 for unknown identities, plus injectable faults.
 */
export class FakeInboxbase {
  readonly logs = new Map<string, FakeEvent[]>();
  readonly faults: Fault[] = [];
  readonly requests: URL[] = [];
  readonly authHeaders: (string | undefined)[] = [];
  /** Sockets the fake has seen close, for cancellation tests. */
  closedRequests = 0;
  token: string | undefined;
  url = "";
  now: () => number = Date.now;
  /** How late an empty long-poll answers after its `timeoutMs`, as a busy upstream does. */
  answerLateMs = 0;
  #waiters = new Set<Waiter>();
  #server = new LoopbackServer((req, res) => void this.#handle(req, res));

  /** Long-polls parked right now (a test waits on this instead of sleeping). */
  get waiting(): number {
    return this.#waiters.size;
  }

  async start(): Promise<this> {
    this.url = await this.#server.listen();
    return this;
  }

  /** Creates the identity (so it is known) without events. */
  ensure(identity: string): FakeEvent[] {
    let log = this.logs.get(identity);
    if (!log) {
      log = [];
      this.logs.set(identity, log);
    }
    return log;
  }

  /** Appends an event and wakes long-polls on that identity. */
  append(identity: string, event: Partial<FakeEvent> & { data?: Record<string, unknown> }): FakeEvent {
    const log = this.ensure(identity);
    const seq = (log.at(-1)?.seq ?? 0) + 1;
    const full: FakeEvent = {
      seq,
      id: `evt_${seq}`,
      type: "email.received",
      ts: this.now(),
      data: {},
      ...event,
    };
    log.push(full);
    for (const waiter of this.#waiters) if (waiter.identity === identity) waiter.wake();
    return full;
  }

  /** Appends a received email. */
  email(identity: string, data: Record<string, unknown>, extra: Partial<FakeEvent> = {}): FakeEvent {
    return this.append(identity, { type: "email.received", data: { to: [identity], ...data }, ...extra });
  }

  requestCount(): number {
    return this.requests.length;
  }

  async close(): Promise<void> {
    for (const waiter of this.#waiters) waiter.wake();
    this.#server.close();
  }

  #page(identity: string, since: number, types: string[], limit: number) {
    const log = this.logs.get(identity) ?? [];
    const after = log.filter((e) => e.seq > since);
    const matching = after.filter((e) => types.length === 0 || types.includes(e.type));
    const events = matching.slice(0, limit);
    const scannedTo = events.length === limit ? (events.at(-1)?.seq ?? since) : (log.at(-1)?.seq ?? since);
    return { events, cursor: Math.max(since, scannedTo), hasMore: matching.length > limit };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    this.requests.push(url);
    this.authHeaders.push(req.headers.authorization);
    req.on("close", () => {
      if (!res.writableEnded) this.closedRequests++;
    });
    const fault = this.faults.shift();
    if (fault?.kind === "hang") return;
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "malformed") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"events": [ {"seq": 1, ');
      return;
    }
    if (fault?.kind === "status") {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      res
        .writeHead(fault.status, headers)
        .end(fault.body ?? JSON.stringify({ error: `fault ${fault.status}` }));
      return;
    }
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "invalid token" }));
      return;
    }
    const match = /^\/v1\/identities\/([^/]+)\/events$/.exec(url.pathname);
    if (!match?.[1]) {
      res.writeHead(404).end();
      return;
    }
    const identity = decodeURIComponent(match[1]);
    if (!this.logs.has(identity)) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "unknown identity" }));
      return;
    }
    const since = Number(url.searchParams.get("since") ?? 0);
    const types = (url.searchParams.get("types") ?? "").split(",").filter(Boolean);
    const limit = Number(url.searchParams.get("limit") ?? 50);
    const timeoutMs = Math.min(25_000, Number(url.searchParams.get("timeoutMs") ?? 0));
    let page = this.#page(identity, since, types, limit);
    if (page.events.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter = { identity, wake: () => done() };
        const timer = setTimeout(() => done(), timeoutMs + this.answerLateMs);
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        };
        this.#waiters.add(waiter);
        req.on("close", done);
      });
      page = this.#page(identity, since, types, limit);
    }
    if (res.destroyed) return;
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ identity, events: page.events, cursor: page.cursor, hasMore: page.hasMore }));
  }
}
