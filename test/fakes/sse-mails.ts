import { frameText, type SseConnection, SseServer, type SseServerOptions } from "./sse-server.js";

export interface MailsStored {
  id: string;
  mailbox: string;
  type: string;
  receivedAt: string;
  /** The JSON sent as `data`, or raw text for a malformed frame. */
  data: Record<string, unknown> | string;
}

export interface FakeMailsOptions extends SseServerOptions {
  /** How long one connection stays open (≤ 25 s upstream; short in tests). */
  windowMs?: number;
  /** `: keepalive` every this many ms (2 s upstream). */
  keepaliveMs?: number;
  /** Send `id:` lines (else clients must resume with `since` = last received_at). */
  ids?: boolean;
  /** Close a connection after this many events, forcing a reconnect. */
  closeAfterEvents?: number;
  /** Send a `retry:` field at the start of each connection. */
  retryMs?: number;
}

const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The mails SSE dialect (upstream-docs/mails-sse-events.txt): `GET /v1/events?mailbox=&types=
 * &since=<ISO>`, `event:` + `data:` frames (ids optional), `: keepalive` comments, the
 * connection closed after a bounded window, resume with `Last-Event-ID` or `since`
 * (inclusive, second precision like the vendor's `received_at`).
 */
export class FakeMails extends SseServer {
  readonly log: MailsStored[] = [];
  windowMs: number;
  keepaliveMs: number;
  ids: boolean;
  closeAfterEvents: number | undefined;
  retryMs: number | undefined;
  now: () => number = Date.now;
  #live = new Set<(e: MailsStored) => void>();
  #n = 0;

  constructor(options: FakeMailsOptions = {}) {
    super(options);
    this.windowMs = options.windowMs ?? 300;
    this.keepaliveMs = options.keepaliveMs ?? 50;
    this.ids = options.ids ?? true;
    this.closeAfterEvents = options.closeAfterEvents;
    this.retryMs = options.retryMs;
  }

  /** Appends one event and pushes it to every live connection that wants it. */
  add(
    mailbox: string,
    fields: Record<string, unknown> = {},
    type = "message.received",
    at = this.now(),
  ): MailsStored {
    const n = ++this.#n;
    const receivedAt = seconds(at);
    const stored: MailsStored = {
      id: `evt_${n}`,
      mailbox,
      type,
      receivedAt,
      data: {
        event: type,
        email_id: `em_${n}`,
        mailbox,
        from: "sender@shop.test",
        subject: `mail ${n}`,
        received_at: receivedAt,
        thread_id: `th_${n}`,
        labels: [],
        has_attachments: false,
        ...fields,
      },
    };
    this.#push(stored);
    return stored;
  }

  /** A frame whose `data` is not JSON, stored in the log like any other. */
  addMalformed(mailbox: string, text = "{not json", type = "message.received"): MailsStored {
    const n = ++this.#n;
    const stored: MailsStored = {
      id: `evt_${n}`,
      mailbox,
      type,
      receivedAt: seconds(this.now()),
      data: text,
    };
    this.#push(stored);
    return stored;
  }

  #push(stored: MailsStored): void {
    this.log.push(stored);
    for (const listener of this.#live) listener(stored);
  }

  protected handle(conn: SseConnection, send: (text: string) => void): void {
    const mailbox = conn.url.searchParams.get("mailbox") ?? "";
    const types = conn.url.searchParams.get("types")?.split(",");
    const wanted = (e: MailsStored) =>
      e.mailbox === mailbox && (types === undefined || types.includes(e.type));
    let start = this.log.length;
    const lastId = conn.headers["last-event-id"];
    const since = conn.url.searchParams.get("since");
    if (typeof lastId === "string") {
      const at = this.log.findIndex((e) => e.id === lastId);
      start = at === -1 ? this.log.length : at + 1;
    } else if (since !== null) {
      const ms = Date.parse(since);
      start = this.log.findIndex((e) => Date.parse(e.receivedAt) >= ms);
      if (start === -1) start = this.log.length;
    }
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.#live.delete(write);
      clearInterval(keepalive);
      clearTimeout(window);
      void this.end(conn);
    };
    const write = (e: MailsStored) => {
      if (done || !wanted(e)) return;
      const data = typeof e.data === "string" ? e.data : JSON.stringify(e.data);
      send(frameText({ ...(this.ids ? { id: e.id } : {}), event: e.type, data }));
      if (this.closeAfterEvents !== undefined && ++sent >= this.closeAfterEvents) finish();
    };
    if (this.retryMs !== undefined) send(`retry: ${this.retryMs}\n\n`);
    const keepalive = setInterval(() => send(": keepalive\n\n"), this.keepaliveMs);
    const window = setTimeout(finish, this.windowMs);
    conn.closed.then(finish);
    for (const e of this.log.slice(start)) write(e);
    if (!done) this.#live.add(write);
  }
}
