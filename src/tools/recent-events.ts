import type { NormalizedEvent } from "../mail/event.js";
import type { Source } from "../sources/source.js";

/** Emails remembered for `get_email` on hosted sources (which have no read-one endpoint). */
const MAX_EVENTS = 2_000;
/** Their size in all (about: characters of their strings), and the largest one kept. */
const MAX_BYTES = 8 * 1024 * 1024;
const MAX_EVENT_BYTES = 512 * 1024;

/** The characters of a value's strings, counted only until `cap` is passed (a giant payload costs no walk). */
function approxSize(value: unknown, cap: number, depth = 0): number {
  if (typeof value === "string") return value.length;
  if (value === null || typeof value !== "object" || depth > 8) return 8;
  let size = 16;
  if (Array.isArray(value)) {
    for (const item of value) {
      size += approxSize(item, cap - size, depth + 1);
      if (size > cap) return size;
    }
    return size;
  }
  // Keys and values alike, without building an array of entries per object (events are
  // plain objects: no inherited keys).
  for (const key in value) {
    size += key.length + approxSize((value as Record<string, unknown>)[key], cap - size, depth + 1);
    if (size > cap) return size;
  }
  return size;
}

/**
 * The newest email events this process has seen, by id, bounded in count and in size: a
 * hosted source answers `get_email` from here. An event larger than MAX_EVENT_BYTES is not
 * kept (get_email then says it has not seen it).
 */
export class RecentEvents {
  readonly #events = new Map<string, { event: NormalizedEvent; size: number }>();
  #bytes = 0;

  add(events: readonly NormalizedEvent[]): void {
    for (const event of events) {
      if (event.email === undefined) continue;
      const size = approxSize(event.data, MAX_EVENT_BYTES) + approxSize(event.email, MAX_EVENT_BYTES);
      if (size > MAX_EVENT_BYTES) continue;
      this.#forget(event.id);
      this.#events.set(event.id, { event, size });
      this.#bytes += size;
      while (this.#events.size > MAX_EVENTS || this.#bytes > MAX_BYTES) {
        this.#forget(this.#events.keys().next().value as string);
      }
    }
  }

  get(id: string): NormalizedEvent | undefined {
    return this.#events.get(id)?.event;
  }

  #forget(id: string): void {
    const kept = this.#events.get(id);
    if (kept === undefined) return;
    this.#events.delete(id);
    this.#bytes -= kept.size;
  }
}

/** `source` with every page it returns remembered in `recent` (hosted sources only need it). */
export function remembering(source: Source, recent: RecentEvents): Source {
  return {
    get kind() {
      return source.kind;
    },
    get key() {
      return source.key;
    },
    pull: async (request) => {
      const page = await source.pull(request);
      recent.add(page.events);
      return page;
    },
    seek: (request) => source.seek(request),
    positionOf: (event) => source.positionOf(event),
    parseCursor: (cursor) => source.parseCursor(cursor),
    close: () => source.close(),
  };
}
