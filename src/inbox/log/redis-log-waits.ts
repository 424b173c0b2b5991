import { MailEventsError } from "../../errors.js";

/** Longest an accepted mail waits to show in this process's index before its `250` goes anyway. */
const VISIBLE_WAIT_MS = 2_000;
/** Longest a clear waits for this process to apply it (it is in the store by then). */
const CLEAR_WAIT_MS = 10_000;

/**
 * What the Redis log's writers wait for from its tailer: an appended seq to be indexed (so a
 * reader right after the `250` sees the mail), a clear to be applied (so its count can be
 * told). The tailer may get there before the writer hears back from Redis: either order works.
 */
export class StreamWaits {
  #visible: { seq: number; resolve: () => void }[] = [];
  /** Clears applied before their caller asked, by entry id (kept briefly). */
  readonly #cleared = new Map<string, number>();
  readonly #clearWaiters = new Map<string, (count: number) => void>();

  /** Resolves once `reached` has passed `seq` (at most VISIBLE_WAIT_MS: the mail is stored anyway). */
  visible(seq: number, lastSeq: number): Promise<void> {
    if (lastSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, VISIBLE_WAIT_MS);
      this.#visible.push({ seq, resolve: done });
    });
  }

  /** The tailer indexed everything up to `lastSeq`. */
  reached(lastSeq: number): void {
    if (this.#visible.length === 0) return;
    const ready = this.#visible.filter((w) => w.seq <= lastSeq);
    this.#visible = this.#visible.filter((w) => w.seq > lastSeq);
    for (const w of ready) w.resolve();
  }

  /** How many entries the clear recorded as stream entry `id` took, once applied here. */
  cleared(id: string, identity: string): Promise<number> {
    const applied = this.#cleared.get(id);
    if (applied !== undefined) {
      this.#cleared.delete(id);
      return Promise.resolve(applied);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#clearWaiters.delete(id);
        reject(
          new MailEventsError(
            "STORE_UNAVAILABLE",
            `the clear of ${identity} is in the store, but this inbox has not read it back within ${CLEAR_WAIT_MS / 1000} s; check MAIL_EVENTS_STORE`,
          ),
        );
      }, CLEAR_WAIT_MS);
      this.#clearWaiters.set(id, (count) => {
        clearTimeout(timer);
        resolve(count);
      });
    });
  }

  /** The tailer applied the clear `id`, dropping `count` entries. */
  applied(id: string, count: number): void {
    const waiter = this.#clearWaiters.get(id);
    this.#clearWaiters.delete(id);
    if (waiter) {
      waiter(count);
      return;
    }
    this.#cleared.set(id, count);
    if (this.#cleared.size > 100) this.#cleared.delete(this.#cleared.keys().next().value as string);
  }
}
