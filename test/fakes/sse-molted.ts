import { frameText, type SseConnection, SseServer, type SseServerOptions } from "./sse-server.js";

export interface MoltedStored {
  id: string;
  tenantId: string;
  data: Record<string, unknown> | string;
}

export interface FakeMoltedOptions extends SseServerOptions {
  /** Where the event id travels: the SSE `id:` field, or only inside `data` as `id`/`eventId`. */
  idIn?: "frame" | "id" | "eventId";
  /** Probability that an event is sent twice in a row (at-least-once). */
  duplicateRate?: number;
  /** Close a connection after this many events, forcing a reconnect. */
  closeAfterEvents?: number;
  /** Most events replayed after `since` (1,000 upstream). */
  maxReplay?: number;
  /** The id of the n-th event (default `evt_000001`…). */
  idOf?: (n: number) => string;
}

/**
 * The molted dialect (upstream-docs/molted-event-stream.txt): `GET /v1/agent/events/stream
 * ?tenantId=&eventTypes=&contactEmail=&since=<event id>` with `Accept: text/event-stream`;
 * replays up to 1,000 events after `since` (the newest ones), then stays open live. At
 * least once: the last replayed event is sent twice, and live events sometimes are.
 */
export class FakeMolted extends SseServer {
  readonly log: MoltedStored[] = [];
  idIn: "frame" | "id" | "eventId";
  duplicateRate: number;
  closeAfterEvents: number | undefined;
  maxReplay: number;
  idOf: (n: number) => string;
  now: () => number = Date.now;
  #live = new Set<(e: MoltedStored) => void>();
  #n = 0;

  constructor(options: FakeMoltedOptions = {}) {
    super(options);
    this.idIn = options.idIn ?? "frame";
    this.duplicateRate = options.duplicateRate ?? 0;
    this.closeAfterEvents = options.closeAfterEvents;
    this.maxReplay = options.maxReplay ?? 1_000;
    this.idOf = options.idOf ?? ((n) => `evt_${String(n).padStart(6, "0")}`);
  }

  add(tenantId: string, type: string, fields: Record<string, unknown> = {}, at = this.now()): MoltedStored {
    const n = ++this.#n;
    const stored: MoltedStored = {
      id: this.idOf(n),
      tenantId,
      data: {
        type,
        requestId: `req_${Math.ceil(n / 3)}`,
        contactEmail: "user@example.com",
        timestamp: new Date(at).toISOString(),
        ...fields,
      },
    };
    this.#push(stored);
    return stored;
  }

  addMalformed(tenantId: string, text = "{not json"): MoltedStored {
    const stored: MoltedStored = { id: this.idOf(++this.#n), tenantId, data: text };
    this.#push(stored);
    return stored;
  }

  #push(stored: MoltedStored): void {
    this.log.push(stored);
    for (const listener of this.#live) listener(stored);
  }

  #frame(e: MoltedStored): string {
    if (typeof e.data === "string") return frameText({ data: e.data });
    if (this.idIn === "frame") return frameText({ id: e.id, data: JSON.stringify(e.data) });
    return frameText({ data: JSON.stringify({ [this.idIn]: e.id, ...e.data }) });
  }

  protected handle(conn: SseConnection, send: (text: string) => void): void {
    const q = conn.url.searchParams;
    const tenantId = q.get("tenantId");
    if (tenantId === null || !String(conn.headers.accept).includes("text/event-stream")) {
      conn.res.end(": bad request\n\n");
      return;
    }
    const types = q.get("eventTypes")?.split(",");
    const contact = q.get("contactEmail");
    const wanted = (e: MoltedStored) => {
      if (e.tenantId !== tenantId) return false;
      if (typeof e.data === "string") return true;
      if (types !== undefined && !types.includes(String(e.data.type))) return false;
      return contact === null || e.data.contactEmail === contact;
    };
    const since = q.get("since");
    let replay: MoltedStored[] = [];
    if (since !== null) {
      const at = this.log.findIndex((e) => e.id === since);
      replay = (at === -1 ? [] : this.log.slice(at + 1)).filter(wanted).slice(-this.maxReplay);
    }
    let sent = 0;
    let done = false;
    const listener = (e: MoltedStored) => write(e);
    const finish = () => {
      if (done) return;
      done = true;
      this.#live.delete(listener);
      void this.end(conn);
    };
    const write = (e: MoltedStored, twice = false) => {
      if (done || !wanted(e)) return;
      send(this.#frame(e));
      if (twice || this.rng() < this.duplicateRate) send(this.#frame(e));
      if (this.closeAfterEvents !== undefined && ++sent >= this.closeAfterEvents) finish();
    };
    conn.closed.then(finish);
    for (const [i, e] of replay.entries()) write(e, i === replay.length - 1);
    if (!done) this.#live.add(listener);
  }
}
