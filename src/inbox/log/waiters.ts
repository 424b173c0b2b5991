/**
 * Readers parked until an append reaches an identity: long-polls and live SSE streams.
 * The log wakes them after each group commit; nothing polls.
 */
export class Waiters {
  readonly #byIdentity = new Map<string, Set<() => void>>();

  /** Calls `wake` on the next append `identity` can see (or on close); returns unsubscribe. */
  add(identity: string, wake: () => void): () => void {
    let set = this.#byIdentity.get(identity);
    if (set === undefined) {
      set = new Set();
      this.#byIdentity.set(identity, set);
    }
    set.add(wake);
    return () => {
      const current = this.#byIdentity.get(identity);
      current?.delete(wake);
      if (current?.size === 0) this.#byIdentity.delete(identity);
    };
  }

  wake(identities: Iterable<string>): void {
    for (const id of identities) {
      const set = this.#byIdentity.get(id);
      if (set) for (const wake of [...set]) wake();
    }
  }

  wakeAll(): void {
    this.wake([...this.#byIdentity.keys()]);
    this.#byIdentity.clear();
  }

  get count(): number {
    let n = 0;
    for (const set of this.#byIdentity.values()) n += set.size;
    return n;
  }
}
