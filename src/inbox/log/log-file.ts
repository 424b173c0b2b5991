import { type FileHandle, open } from "node:fs/promises";
import { writeFully } from "./log-format.js";

/** Where one line lives in the file. */
export interface Span {
  off: number;
  len: number;
}

interface Pinned {
  handle: FileHandle;
  readers: number;
  retired: boolean;
}

/** Reads merge neighbours closer than this, and stop growing past `MAX_READ`. */
const MERGE_GAP = 64 * 1024;
const MAX_READ = 8 * 1024 * 1024;

/**
 * The open log file. Appends go at an explicit offset and are fsynced before they count;
 * a failed append is cut back off, so no half line is ever left behind a later one. Reads
 * pin the handle they started on, so a compaction can swap in a new file underneath them.
 */
export class LogFile {
  #current: Pinned;
  /** Bytes of whole lines: where the next append goes. */
  size: number;
  #cutPending = false;

  constructor(handle: FileHandle, size: number) {
    this.#current = { handle, readers: 0, retired: false };
    this.size = size;
  }

  get handle(): FileHandle {
    return this.#current.handle;
  }

  /**
   * Writes `buffer` at the end and syncs it; returns the offset it went to. It counts only
   * once every byte is written and synced: a short write (a full disk) or a failed sync cuts
   * the file back, so no part of a failed batch stays behind the next one.
   */
  async append(buffer: Buffer): Promise<number> {
    const start = this.size;
    const handle = this.#current.handle;
    if (this.#cutPending) {
      // The last failure could not cut its bytes off; until that succeeds nothing is appended.
      await handle.truncate(start);
      this.#cutPending = false;
    }
    try {
      await writeFully(handle, buffer, start);
      await handle.datasync();
    } catch (error) {
      await handle.truncate(start).then(
        () => handle.datasync(),
        () => {
          this.#cutPending = true;
        },
      );
      throw error;
    }
    this.size = start + buffer.length;
    return start;
  }

  /**
   * The bytes of each span, in the order given. Spans must be captured synchronously
   * with the entries they came from (a compaction moves them). Neighbouring lines are
   * read in one call: a page of `*` is one contiguous range.
   */
  async read(given: readonly Span[]): Promise<Buffer[]> {
    const spans = given.map(({ off, len }) => ({ off, len }));
    const out = new Array<Buffer>(spans.length);
    const order = spans.map((_, i) => i).sort((a, b) => (spans[a] as Span).off - (spans[b] as Span).off);
    const pinned = this.#current;
    pinned.readers++;
    try {
      for (let g = 0; g < order.length; ) {
        const first = spans[order[g] as number] as Span;
        let end = g + 1;
        let stop = first.off + first.len;
        for (; end < order.length; end++) {
          const next = spans[order[end] as number] as Span;
          if (next.off - stop > MERGE_GAP || next.off + next.len - first.off > MAX_READ) break;
          stop = Math.max(stop, next.off + next.len);
        }
        const buffer = Buffer.allocUnsafe(stop - first.off);
        await pinned.handle.read(buffer, 0, buffer.length, first.off);
        for (; g < end; g++) {
          const i = order[g] as number;
          const at = (spans[i] as Span).off - first.off;
          out[i] = buffer.subarray(at, at + (spans[i] as Span).len);
        }
      }
    } finally {
      pinned.readers--;
      if (pinned.retired && pinned.readers === 0) await pinned.handle.close().catch(() => {});
    }
    return out;
  }

  /**
   * Switches to the file now at `path` (a compacted copy renamed over the old one).
   * `moved` runs in the same tick as the switch, so no read pairs old offsets with the
   * new file or new offsets with the old one.
   */
  async swap(path: string, size: number, moved: () => void): Promise<void> {
    const next = await open(path, "r+");
    const old = this.#current;
    this.#current = { handle: next, readers: 0, retired: false };
    this.size = size;
    moved();
    old.retired = true;
    if (old.readers === 0) await old.handle.close();
  }

  async close(): Promise<void> {
    this.#current.retired = true;
    if (this.#current.readers === 0) await this.#current.handle.close();
  }
}
