import type { Received } from "../smtp/spool.js";
import type { LogRecord } from "./log-format.js";
import type { EntryList, IndexPage, LogEntry } from "./log-index.js";

/** One mail's event as the SMTP side hands it to the log (seq, id and ts are the log's). */
export interface AppendInput {
  type: string;
  ids: string[];
  from: string;
  data: Record<string, unknown>;
}

/** What the HTTP routes read of a log's in-memory index. */
export interface IndexView {
  page(
    identity: string,
    since: number,
    limit: number,
    accept?: (entry: LogEntry) => boolean,
    budget?: number,
  ): IndexPage;
  list(identity: string): EntryList | undefined;
  find(seq: number): LogEntry | undefined;
}

/** Which part of storing a mail failed, so the SMTP side can say so in its reply. */
export class StoreStageError extends Error {
  readonly stage: string;
  constructor(stage: string, cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.stage = stage;
  }
}

/**
 * The inbox's log as the HTTP routes and the SMTP side use it: the file log of one state
 * directory (`EventLog`), or one log in Redis Streams shared by every inbox on that store
 * (`RedisEventLog`). Reads come from an in-memory index either way; only records and raw
 * messages are fetched from where they are kept.
 */
export interface InboxLog {
  readonly index: IndexView;
  /** Makes event ids unique across logs: an id of another epoch is of another log. */
  readonly epoch: string;
  /** Highest seq this process has indexed: a live reader starting "now" starts here. */
  readonly lastSeq: number;
  /** Readers parked until an append (long-polls and live streams), for health and tests. */
  readonly waiting: number;
  readonly closed: boolean;
  /** The seq inside one of this log's event ids, or undefined. */
  seqOf(id: string): number | undefined;
  /** The records behind `entries`, in the order given (entries gone from the store are left out). */
  read(entries: readonly LogEntry[]): Promise<LogRecord[]>;
  /** The original bytes of event `id`'s message, or undefined when unknown or dropped. */
  rawMessage(id: string): Promise<Buffer | undefined>;
  /** Calls `wake` after the next append `identity` can see (or on close); returns unsubscribe. */
  subscribe(identity: string, wake: () => void): () => void;
  /** Clears `identity`'s mail (`*`: all) for good; returns how many went. */
  clear(identity: string): Promise<number>;
  /**
   * Stores the raw message and its event (`data.raw` is added here); resolves once both are
   * durable and the event is visible to readers. A failure is a `StoreStageError`, or a
   * `MailEventsError` (STORE_UNAVAILABLE) when a shared store did not answer.
   */
  storeMail(input: AppendInput, message: Received): Promise<LogRecord>;
  /** Throws STORE_UNAVAILABLE while the store is known to be unreachable (the file log: never). */
  checkAvailable(): void;
  /** Stops new appends, finishes those in flight, wakes every reader. */
  close(): Promise<void>;
}
