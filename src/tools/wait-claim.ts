import type { ClaimResult } from "../cursors/store.js";
import type { NormalizedEvent } from "../mail/event.js";

/** Matching emails a wait keeps in hand: more than this many waits racing for one identity is rare. */
const MAX_CANDIDATES = 64;

interface Candidate {
  event: NormalizedEvent;
  order: number;
}

/**
 * The matching emails one wait found and may return, in log order (the newest last). The wait
 * claims the newest (see `cursors/claims.ts`); one another wait returned is dropped, one
 * another wait holds a live claim on is set aside until that claim lapses (its claimer may die
 * before its reply goes out), and the next newest is tried.
 */
export class Candidates {
  #ready: Candidate[] = [];
  #aside: (Candidate & { until: number })[] = [];

  add(event: NormalizedEvent, order: number): void {
    this.#ready.push({ event, order });
    if (this.#ready.length > MAX_CANDIDATES) this.#ready.shift();
  }

  get ready(): number {
    return this.#ready.length;
  }

  /** When the soonest claim of another wait on a set-aside email lapses (epoch ms). */
  nextLapse(): number | undefined {
    return this.#aside.length === 0 ? undefined : Math.min(...this.#aside.map((c) => c.until));
  }

  /** Takes back the set-aside emails whose other claim has lapsed by `now`. */
  wake(now: number): void {
    const lapsed = this.#aside.filter((c) => c.until <= now);
    if (lapsed.length === 0) return;
    this.#aside = this.#aside.filter((c) => c.until > now);
    this.#ready = [...this.#ready, ...lapsed].sort((a, b) => a.order - b.order);
  }

  /** Claims the newest email it can; undefined when every one is taken (it then waits on). */
  async claimNewest(claim: (event: NormalizedEvent, order: number) => Promise<ClaimResult>) {
    for (let next = this.#ready.pop(); next !== undefined; next = this.#ready.pop()) {
      const result = await claim(next.event, next.order);
      if (result.claimed) return next;
      if (result.until !== undefined) this.#aside.push({ ...next, until: result.until });
    }
    return undefined;
  }
}
