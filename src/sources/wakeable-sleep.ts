/**
 * A sleep that whatever the stream hears (an event, an ending, a close) can cut short: the
 * pull in progress then looks again at once instead of at its next timer.
 */
export class WakeableSleep {
  #wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake?.();
  }
}
