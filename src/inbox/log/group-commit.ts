/**
 * Group commit: items pushed while a batch is being written wait, and go together in the
 * next batch, so one fsync serves every mail that arrived during the last one. One batch is
 * written at a time; `exclusive` runs a job in a batch's place (a clear's rewrite), so no
 * write ever overlaps it.
 */
export class GroupCommit<T> {
  readonly #write: (batch: T[]) => Promise<void>;
  #queue: T[] = [];
  #running: Promise<void> | undefined;

  /** `write` settles each item of its batch itself (resolve or reject); it should not throw. */
  constructor(write: (batch: T[]) => Promise<void>) {
    this.#write = write;
  }

  push(item: T): void {
    this.#queue.push(item);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Runs `job` after the batch being written; items pushed meanwhile are written after it. */
  async exclusive<R>(job: () => Promise<R>): Promise<R> {
    // Checked and taken in one synchronous step, so two jobs never run at once.
    for (let running = this.#running; running !== undefined; running = this.#running) await running;
    let release!: () => void;
    this.#running = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      return await job();
    } finally {
      try {
        await this.#drain();
      } finally {
        this.#running = undefined;
        release();
      }
    }
  }

  /** Resolves once nothing is being written or queued. */
  async settled(): Promise<void> {
    for (let running = this.#running; running !== undefined; running = this.#running) await running;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await this.#write(batch);
    }
  }
}
