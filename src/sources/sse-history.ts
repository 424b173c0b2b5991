import type { NormalizedEvent } from "../mail/event.js";
import type { Position } from "./source.js";

/** One event a stream received, with where a reader stood just before and just after it. */
export interface Received {
  event: NormalizedEvent;
  before: Position;
  after: Position;
  bytes: number;
}

export interface SseHistoryLimits {
  /** Most events kept per identity and type filter. */
  maxEvents: number;
  /** Most bytes (JSON characters) kept in all, across identities. */
  maxBytes: number;
}

/**
 * The events this process has received per stream key (identity + type filter), oldest
 * first, bounded by count and bytes. molted cannot replay by time, so this is what "from
 * the start of the log" and "everything since notBefore" can mean there: what we saw.
 */
export class SseHistory {
  readonly #limits: SseHistoryLimits;
  /** Most recently recorded key last, so the byte bound trims the stalest first. */
  readonly #rings = new Map<string, { entries: Received[]; ids: Set<string> }>();
  #bytes = 0;

  constructor(limits: SseHistoryLimits) {
    this.#limits = limits;
  }

  record(key: string, event: NormalizedEvent, before: Position, after: Position): void {
    let ring = this.#rings.get(key);
    if (ring?.ids.has(event.id)) return; // two streams on one key both saw it
    if (ring === undefined) ring = { entries: [], ids: new Set() };
    this.#rings.delete(key);
    this.#rings.set(key, ring);
    const bytes = JSON.stringify(event).length;
    ring.entries.push({ event, before, after, bytes });
    ring.ids.add(event.id);
    this.#bytes += bytes;
    if (ring.entries.length > this.#limits.maxEvents) this.#shift(key, ring);
    for (const [k, r] of this.#rings) {
      if (this.#bytes <= this.#limits.maxBytes) break;
      while (r.entries.length > 0 && this.#bytes > this.#limits.maxBytes) this.#shift(k, r);
    }
  }

  /** The events kept for `key`, oldest first (do not modify). */
  entries(key: string): readonly Received[] {
    return this.#rings.get(key)?.entries ?? [];
  }

  #shift(key: string, ring: { entries: Received[]; ids: Set<string> }): void {
    const gone = ring.entries.shift();
    if (gone === undefined) return;
    ring.ids.delete(gone.event.id);
    this.#bytes -= gone.bytes;
    if (ring.entries.length === 0) this.#rings.delete(key);
  }
}
