import { MailEventsError } from "../errors.js";
import { ensureInbox } from "../inbox/lifecycle/ensure-inbox.js";
import type { InboxOptions, RunningInbox } from "../inbox/types.js";
import type { NormalizedEvent } from "../mail/event.js";
import { HttpClient } from "./http-client.js";
import { InboxbaseSource } from "./inboxbase.js";
import { parseSeqCursor, seqPositionOf } from "./inboxbase-wire.js";
import {
  type Cursor,
  type Page,
  type Position,
  type PullRequest,
  type SeekRequest,
  type Source,
  sourceKey,
} from "./source.js";

/**
 * The `local` source: the inboxbase client pointed at the embedded inbox, which it starts
 * (or finds running in another process). When the process that ran the inbox goes away,
 * the next request starts it here — the HTTP client's retry then lands on it — so a
 * second MCP host keeps working after the first one quits.
 */
export class LocalSource implements Source {
  readonly kind = "local" as const;
  readonly key: string;
  /** The inbox as first started or found; `app.close` closes it. */
  readonly inbox: Promise<RunningInbox>;
  readonly #options: InboxOptions;
  readonly #http: HttpClient;
  readonly #inner: Promise<InboxbaseSource>;
  #current: Promise<RunningInbox>;
  #takingOver: Promise<void> | undefined;
  #closed = false;

  constructor(options: InboxOptions, start: (options: InboxOptions) => Promise<RunningInbox> = ensureInbox) {
    this.#options = options;
    // On the file store: the same key as a hosted inboxbase client on this URL would use, so
    // stored cursors carry over. On Redis the log is the store's own, whatever port or host
    // each inbox serves it on, and the cursors live in that same store: one key for all.
    this.key =
      options.store?.kind === "redis"
        ? sourceKey("local", "redis-stream:inbox")
        : sourceKey("local", `http://127.0.0.1:${options.httpPort}`);
    this.inbox = start(options);
    this.#current = this.inbox;
    this.#http = new HttpClient({
      token: options.token,
      backoffMs: 50,
      maxBackoffMs: 1_000,
      onUnreachable: () => this.#takeOver(start),
    });
    // With port 0 only the running inbox knows its URL.
    this.#inner = this.inbox.then(
      (inbox) =>
        new InboxbaseSource({ url: inbox.httpUrl, http: this.#http, kind: "local", log: options.log }),
    );
    this.#inner.catch(() => {}); // reported by the first request
  }

  async pull(request: PullRequest): Promise<Page> {
    return (await this.#inner).pull(request);
  }

  async seek(request: SeekRequest): Promise<Position | null> {
    return (await this.#inner).seek(request);
  }

  // Pure functions of the dialect: answered before the inbox (and its URL) is known.
  positionOf(event: NormalizedEvent): Position {
    return seqPositionOf(event);
  }

  parseCursor(cursor: Cursor): Position {
    return parseSeqCursor(cursor, this.kind);
  }

  /** One email in full (the inbox's `GET /v1/messages/{id}`), or EMAIL_NOT_FOUND naming it. */
  async message(id: string, signal: AbortSignal): Promise<unknown> {
    const inbox = await this.#inner.then(() => this.#current);
    const url = new URL(`/v1/messages/${encodeURIComponent(id)}`, inbox.httpUrl);
    try {
      return await this.#http.getJson(url, { signal, deadline: Date.now() + 30_000 });
    } catch (error) {
      if ((error as MailEventsError).status !== 404) throw error;
      throw new MailEventsError(
        "EMAIL_NOT_FOUND",
        `no email ${JSON.stringify(id)} in the local inbox (cleared, dropped by retention, or of an earlier log); pass an id that wait_for_email or pull_events returned`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#takingOver;
    await this.#http.close();
    const current = await this.#current.catch(() => undefined);
    await current?.close();
  }

  /** Runs once however many requests fail together; a peer that wins the race is used instead. */
  #takeOver(start: (options: InboxOptions) => Promise<RunningInbox>): Promise<void> {
    this.#takingOver ??= (async () => {
      const current = await this.#current.catch(() => undefined);
      if (this.#closed || current?.owned || this.#options.httpPort === 0) return;
      try {
        const next = await start(this.#options);
        this.#current = Promise.resolve(next);
        if (next.owned)
          this.#options.log.info("local inbox: the process that ran it is gone; running it here now");
      } catch (error) {
        this.#options.log.warn(`local inbox: could not take over: ${(error as Error).message}`);
      }
    })().finally(() => {
      this.#takingOver = undefined;
    });
    return this.#takingOver;
  }
}
