import { once } from "node:events";
import { createServer } from "node:http";

/**
 * A fast fake of the inboxbase cursor endpoint (SPEC §1.1) for benchmarks and torture:
 * per-identity seq, since/types/limit, long-poll woken by appends, hasMore. Pages are found
 * by binary search and each event is serialized once, so the fake's own cost stays small
 * next to the server being measured.
 */
export class FakeUpstream {
  logs = new Map();
  /** Requests per identity, and in total. */
  counts = new Map();
  total = 0;
  url = "";
  #json = new WeakMap();
  #waiters = new Set();
  #parkedListeners = new Set();
  #sockets = new Set();
  #server = createServer((req, res) => this.#handle(req, res));

  async start() {
    this.#server.keepAliveTimeout = 60_000;
    this.#server.on("connection", (socket) => {
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    this.url = `http://127.0.0.1:${this.#server.address().port}`;
    return this;
  }

  ensure(identity) {
    let log = this.logs.get(identity);
    if (!log) {
      log = [];
      this.logs.set(identity, log);
    }
    return log;
  }

  /** Makes `identity` read the same (append-only) array as another identity. */
  share(identity, log) {
    this.logs.set(identity, log);
    return log;
  }

  append(identity, event = {}) {
    const log = this.ensure(identity);
    const seq = (log.at(-1)?.seq ?? 0) + 1;
    const full = { seq, id: `evt_${seq}`, type: "email.received", ts: Date.now(), data: {}, ...event };
    log.push(full);
    for (const waiter of this.#waiters) if (waiter.identity === identity) waiter.wake();
    return full;
  }

  email(identity, data = {}, extra = {}) {
    return this.append(identity, { type: "email.received", data: { to: [identity], ...data }, ...extra });
  }

  /** Appends `n` realistic received-email events with timestamps from `tsOf(i)`. */
  fill(identity, n, tsOf = () => Date.now()) {
    const log = this.ensure(identity);
    for (let i = 0; i < n; i++) {
      const seq = (log.at(-1)?.seq ?? 0) + 1;
      log.push({
        seq,
        id: `evt_${seq}`,
        type: "email.received",
        ts: tsOf(i),
        data: {
          from: `Sender ${seq % 97} <sender${seq % 97}@shop.test>`,
          to: [identity],
          subject: `Order ${seq} update`,
          text: `Hello, your order ${seq} has shipped. Track it at https://shop.test/track/${seq} — thanks for shopping with us.`,
          messageId: `<m${seq}@shop.test>`,
        },
      });
    }
    return log;
  }

  /** Serializes every event of `log` ahead of time, so timed runs measure the server. */
  warm(log) {
    for (const event of log) this.#serialize(event);
  }

  requestsFor(identity) {
    return this.counts.get(identity) ?? 0;
  }

  /** How many long-polls are parked on `identity` right now. */
  parked(identity) {
    let n = 0;
    for (const waiter of this.#waiters) if (waiter.identity === identity) n++;
    return n;
  }

  /** Resolves once at least `count` long-polls are parked on `identity`. */
  whenParked(identity, count = 1) {
    if (this.parked(identity) >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        if (this.parked(identity) >= count) {
          this.#parkedListeners.delete(listener);
          resolve();
        }
      };
      this.#parkedListeners.add(listener);
    });
  }

  /** Resolves once `count` long-polls are parked in total. */
  whenParkedTotal(count) {
    if (this.#waiters.size >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        if (this.#waiters.size >= count) {
          this.#parkedListeners.delete(listener);
          resolve();
        }
      };
      this.#parkedListeners.add(listener);
    });
  }

  async close() {
    for (const waiter of this.#waiters) waiter.wake();
    for (const socket of this.#sockets) socket.destroy();
    this.#server.close();
  }

  #page(identity, since, types, limit) {
    const log = this.logs.get(identity) ?? [];
    // First index whose seq is above `since` (seqs increase along the array).
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (log[mid].seq > since) hi = mid;
      else lo = mid + 1;
    }
    const events = [];
    let i = lo;
    for (; i < log.length && events.length < limit; i++) {
      if (types.length === 0 || types.includes(log[i].type)) events.push(log[i]);
    }
    let hasMore = false;
    for (let j = i; j < log.length; j++) {
      if (types.length === 0 || types.includes(log[j].type)) {
        hasMore = true;
        break;
      }
    }
    const scannedTo = hasMore ? (events.at(-1)?.seq ?? since) : (log.at(-1)?.seq ?? since);
    return { events, cursor: Math.max(since, scannedTo), hasMore };
  }

  #serialize(event) {
    let json = this.#json.get(event);
    if (json === undefined) {
      json = JSON.stringify(event);
      this.#json.set(event, json);
    }
    return json;
  }

  async #handle(req, res) {
    const url = new URL(req.url ?? "/", this.url);
    this.total++;
    const match = /^\/v1\/identities\/([^/]+)\/events$/.exec(url.pathname);
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const identity = decodeURIComponent(match[1]);
    this.counts.set(identity, (this.counts.get(identity) ?? 0) + 1);
    if (!this.logs.has(identity)) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"unknown identity"}');
      return;
    }
    const since = Number(url.searchParams.get("since") ?? 0);
    const types = (url.searchParams.get("types") ?? "").split(",").filter(Boolean);
    const limit = Math.min(200, Number(url.searchParams.get("limit") ?? 50));
    const timeoutMs = Math.min(25_000, Number(url.searchParams.get("timeoutMs") ?? 0));
    let page = this.#page(identity, since, types, limit);
    if (page.events.length === 0 && timeoutMs > 0) {
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        };
        const waiter = { identity, wake: done };
        const timer = setTimeout(done, timeoutMs);
        this.#waiters.add(waiter);
        req.on("close", done);
        for (const listener of [...this.#parkedListeners]) listener();
      });
      page = this.#page(identity, since, types, limit);
    }
    if (res.destroyed) return;
    const body = `{"identity":${JSON.stringify(identity)},"events":[${page.events.map((e) => this.#serialize(e)).join(",")}],"cursor":${page.cursor},"hasMore":${page.hasMore}}`;
    res
      .writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      .end(body);
  }
}
