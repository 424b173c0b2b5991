import type { NormalizedEvent } from "../mail/event.js";
import type { Source } from "../sources/source.js";

/** Emails remembered for `get_email` on hosted sources (which have no read-one endpoint). */
const MAX_EVENTS = 2_000;

/**
 * The newest email events this process has seen, by id, bounded: a hosted source answers
 * `get_email` from here. Text is kept as the vendor sent it, so memory is bounded by the
 * vendors' own event sizes times MAX_EVENTS.
 */
export class RecentEvents {
  readonly #events = new Map<string, NormalizedEvent>();

  add(events: readonly NormalizedEvent[]): void {
    for (const event of events) {
      if (event.email === undefined) continue;
      this.#events.delete(event.id);
      this.#events.set(event.id, event);
      if (this.#events.size > MAX_EVENTS) this.#events.delete(this.#events.keys().next().value as string);
    }
  }

  get(id: string): NormalizedEvent | undefined {
    return this.#events.get(id);
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
