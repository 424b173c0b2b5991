import { isMailEventsError, MailEventsError } from "../../errors.js";
import type { Logger } from "../../log.js";

/**
 * Whether the Redis log's store answers, as writers and stderr are told: the first failure
 * of an outage is logged once and refuses writes until the store answers again (one line
 * then), and a log not open yet refuses them with the store's own failure.
 */
export class StoreHealth {
  readonly #log: Logger;
  #down: MailEventsError | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Throws the outage's error while the store does not answer. */
  check(): void {
    if (this.#down !== undefined) throw this.#down;
  }

  /** What a writer gets while the log is not open (`open` false): the store's own failure. */
  refusal(open: boolean): MailEventsError | undefined {
    if (open) return undefined;
    return (
      this.#down ??
      new MailEventsError(
        "STORE_UNAVAILABLE",
        "the local inbox has not opened its log yet; check MAIL_EVENTS_STORE",
      )
    );
  }

  /** A command failed: an unavailable store is down from now, until `set(undefined)`. */
  failed(error: unknown): void {
    if (isMailEventsError(error) && error.code === "STORE_UNAVAILABLE") this.#down ??= error;
  }

  /** The tailer's (or an open's) word: `undefined` = the store answers. */
  set(error: MailEventsError | undefined): void {
    if (error === undefined) {
      if (this.#down !== undefined) this.#log.info("local inbox: following its log in the store again");
      this.#down = undefined;
      return;
    }
    if (this.#down === undefined) this.#log.warn(error.message);
    this.#down = error;
  }
}
