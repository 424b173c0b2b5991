import { entryOf } from "./log-entry.js";
import type { LogIndex } from "./log-index.js";
import { RecentLines } from "./recent-lines.js";
import { parseRecord, seqOfEntryId } from "./redis-log-io.js";
import type { StreamEntry } from "./redis-tailer.js";

/** What applying a batch of stream entries did, for the log to tell its waiters. */
export interface Applied {
  /** Identities that got mail. */
  woken: Set<string>;
  /** Clears applied: stream entry id and how many entries each took. */
  cleared: [id: string, count: number][];
  /** A record of another epoch: another inbox started a new log (the store lost this one). */
  foreign: boolean;
}

/**
 * One process's view of one epoch of the Redis log: the index the routes read, the records
 * just read (so woken readers skip a round trip), and how far the stream has been applied.
 * A log that starts over gets a new view; seqs only go on.
 */
export class StreamView {
  readonly index: LogIndex;
  readonly recent = new RecentLines();
  epoch = "";
  /** Every seq up to here is indexed, or gone from the store. */
  lastSeq: number;
  /** The newest entry applied, as [seq, n] of its id `<seq>-<n>`: nothing is applied twice. */
  #applied: [number, number] = [0, 0];

  constructor(index: LogIndex, lastSeq = 0) {
    this.index = index;
    this.lastSeq = lastSeq;
  }

  /** Feeds stream entries to the index in order: mails are added, clears applied. */
  apply(entries: StreamEntry[], live: boolean): Applied {
    const out: Applied = { woken: new Set(), cleared: [], foreign: false };
    for (const [id, fields] of entries) {
      const seq = seqOfEntryId(id);
      const n = Number(id.slice(id.indexOf("-") + 1));
      const [lastSeq, lastN] = this.#applied;
      // A load that failed halfway is read again from the start.
      if (seq < lastSeq || (seq === lastSeq && n <= lastN)) continue;
      this.#applied = [seq, n];
      if (fields[0] === "c" && typeof fields[1] === "string") {
        out.cleared.push([id, this.index.clear(fields[1])]);
      } else if (fields[0] === "r" && typeof fields[1] === "string") {
        const record = parseRecord(fields[1]);
        if (record !== undefined && record.seq === seq && record.id !== `evt_${this.epoch}_${seq}`) {
          out.foreign = true;
        } else if (record !== undefined && record.seq === seq) {
          this.index.add(entryOf(record, 0, fields[1].length));
          if (live) this.recent.add(seq, Buffer.from(fields[1]));
          for (const identity of record.ids) out.woken.add(identity);
        }
      }
      this.lastSeq = Math.max(this.lastSeq, seq);
    }
    return out;
  }
}
