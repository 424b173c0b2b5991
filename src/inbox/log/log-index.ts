/**
 * What the inbox keeps in memory about its log: where each record's line is and who may see
 * it, never the mail itself, so memory stays small and a page is read from disk in O(page).
 */
export interface LogEntry {
  readonly seq: number;
  readonly ts: number;
  readonly type: string;
  /** Lower-cased sender address (the molted dialect filters on it). */
  readonly from: string;
  /** Identities that received this record (recipients and `*`). */
  readonly ids: readonly string[];
  /** Byte offset of the line in the log file; compaction moves it. */
  off: number;
  /** Length of the line; a rewrite under a new epoch changes it. */
  len: number;
  /** The stored raw message's file name (under `messages/`), if the record has one. */
  readonly raw?: string;
  /** Identities still holding the entry; 0 = dropped by retention, gone at the next compaction. */
  refs: number;
}

export interface Retention {
  /** Newest events kept per identity. */
  perIdentity: number;
  /** Newest records kept in all (bounds the log when mail goes to many addresses). */
  total: number;
}

/** One page of an identity's events after a cursor. */
export interface IndexPage {
  entries: LogEntry[];
  /** Last seq scanned (not only returned), so a filtered reader still advances. */
  cursor: number;
  hasMore: boolean;
}

/**
 * A seq-ordered list with O(1) removal at the front: retention drops the oldest entry on
 * almost every append, and `Array.shift` would make that O(n).
 */
export class EntryList {
  #items: LogEntry[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  at(i: number): LogEntry | undefined {
    return this.#items[this.#head + i];
  }

  first(): LogEntry | undefined {
    return this.#items[this.#head];
  }

  last(): LogEntry | undefined {
    return this.#items.length > this.#head ? this.#items[this.#items.length - 1] : undefined;
  }

  push(entry: LogEntry): void {
    this.#items.push(entry);
  }

  shift(): LogEntry | undefined {
    const entry = this.#items[this.#head];
    if (entry === undefined) return undefined;
    this.#items[this.#head] = undefined as unknown as LogEntry; // let it be collected
    this.#head++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  /** Index of the first entry with `seq > since`, by bisection. */
  indexAfter(since: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.at(mid) as LogEntry).seq <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry with `ts >= ts` (timestamps never decrease along the log). */
  indexAtOrAfterTs(ts: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.at(mid) as LogEntry).ts < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Per-identity lists of entries with the retention caps applied as entries are added.
 * Seqs come from one counter for the whole log, so every identity's seqs strictly increase,
 * and no seq is ever reused even when retention empties an identity.
 */
export class LogIndex {
  readonly #lists = new Map<string, EntryList>();
  /** Every entry not yet trimmed by the total cap, in seq order (dead ones included). */
  #all = new EntryList();
  readonly #retention: Retention;
  liveCount = 0;
  liveBytes = 0;
  deadBytes = 0;

  /** Called once for each entry retention lets go of (its raw message can go too). */
  onDrop: (entry: LogEntry) => void = () => {};

  constructor(retention: Retention) {
    this.#retention = retention;
  }

  get identityCount(): number {
    return this.#lists.size;
  }

  add(entry: LogEntry): void {
    for (const id of entry.ids) {
      let list = this.#lists.get(id);
      if (list === undefined) {
        list = new EntryList();
        this.#lists.set(id, list);
      }
      list.push(entry);
      entry.refs++;
      if (list.length > this.#retention.perIdentity) this.#release(list.shift() as LogEntry);
    }
    if (entry.refs === 0) return;
    this.#all.push(entry);
    this.liveCount++;
    this.liveBytes += entry.len;
    while (this.liveCount > this.#retention.total) this.#dropOldest();
  }

  list(identity: string): EntryList | undefined {
    return this.#lists.get(identity);
  }

  /** Events after `since`, at most `limit` accepted ones, scanning at most `budget` entries. */
  page(
    identity: string,
    since: number,
    limit: number,
    accept: (entry: LogEntry) => boolean = () => true,
    budget = 10_000,
  ): IndexPage {
    const list = this.#lists.get(identity);
    const entries: LogEntry[] = [];
    let cursor = since;
    if (list === undefined) return { entries, cursor, hasMore: false };
    for (let i = list.indexAfter(since), scanned = 0; i < list.length; i++, scanned++) {
      // A filtered scan stops at the budget so one request never walks the whole log.
      if (entries.length === limit || scanned === budget) return { entries, cursor, hasMore: true };
      const entry = list.at(i) as LogEntry;
      cursor = entry.seq;
      if (accept(entry)) entries.push(entry);
    }
    return { entries, cursor, hasMore: false };
  }

  /** The live entry of `seq`, if retention still keeps it. */
  find(seq: number): LogEntry | undefined {
    const entry = this.#all.at(this.#all.indexAfter(seq - 1));
    return entry?.seq === seq && entry.refs > 0 ? entry : undefined;
  }

  /** Live entries in seq order (what a compaction keeps). */
  live(): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = 0; i < this.#all.length; i++) {
      const entry = this.#all.at(i) as LogEntry;
      if (entry.refs > 0) out.push(entry);
    }
    return out;
  }

  /** The seq of the oldest live entry, if any: everything before it is gone. */
  oldestLive(): number | undefined {
    for (let i = 0; i < this.#all.length; i++) {
      const entry = this.#all.at(i) as LogEntry;
      if (entry.refs > 0) return entry.seq;
    }
    return undefined;
  }

  /** After a compaction: the dead entries are gone from the file, so forget them too. */
  compacted(live: LogEntry[]): void {
    this.#all = new EntryList();
    for (const entry of live) this.#all.push(entry);
    this.deadBytes = 0;
    this.liveBytes = live.reduce((sum, entry) => sum + entry.len, 0);
  }

  /**
   * Drops every entry `identity` holds (`*`: all of them) from every identity that saw it,
   * as retention would; seqs are not reused, so cursors stay valid. Returns how many.
   */
  clear(identity: string): number {
    const doomed = new Set(identity === "*" ? this.live() : listItems(this.#lists.get(identity)));
    const touched = new Set<string>();
    for (const entry of doomed) for (const id of entry.ids) touched.add(id);
    for (const id of touched) {
      const kept = new EntryList();
      for (const entry of listItems(this.#lists.get(id))) if (!doomed.has(entry)) kept.push(entry);
      if (kept.length === 0) this.#lists.delete(id);
      else this.#lists.set(id, kept);
    }
    for (const entry of doomed) {
      entry.refs = 1;
      this.#release(entry);
    }
    return doomed.size;
  }

  #release(entry: LogEntry): void {
    entry.refs--;
    if (entry.refs > 0) return;
    this.liveCount--;
    this.liveBytes -= entry.len;
    this.deadBytes += entry.len;
    this.onDrop(entry);
  }

  /** The oldest live entry is at the front of every list still holding it. */
  #dropOldest(): void {
    let entry = this.#all.shift();
    while (entry !== undefined && entry.refs === 0) entry = this.#all.shift();
    if (entry === undefined) return;
    for (const id of entry.ids) {
      const list = this.#lists.get(id);
      if (list?.first() !== entry) continue;
      list.shift();
      if (list.length === 0) this.#lists.delete(id);
      this.#release(entry);
    }
  }
}

function listItems(list: EntryList | undefined): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = 0; list !== undefined && i < list.length; i++) out.push(list.at(i) as LogEntry);
  return out;
}
