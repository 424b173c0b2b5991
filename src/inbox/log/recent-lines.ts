/**
 * Lines just written, so live readers woken by an append skip the disk. Bounded by bytes as
 * well as by count: 512 lines of large mails were most of a gigabyte. A line longer than
 * `maxLine` is not kept (its reader goes to the disk).
 */
export class RecentLines {
  readonly #lines = new Map<number, Buffer>();
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #maxLine: number;
  #bytes = 0;

  constructor(maxCount = 512, maxBytes = 4 * 1024 * 1024, maxLine = 256 * 1024) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
    this.#maxLine = maxLine;
  }

  get(seq: number): Buffer | undefined {
    return this.#lines.get(seq);
  }

  add(seq: number, line: Buffer): void {
    if (line.length > this.#maxLine) return;
    this.#lines.set(seq, line);
    this.#bytes += line.length;
    while (this.#lines.size > this.#maxCount || this.#bytes > this.#maxBytes) {
      const [oldest, bytes] = this.#lines.entries().next().value as [number, Buffer];
      this.#lines.delete(oldest);
      this.#bytes -= bytes.length;
    }
  }
}

/**
 * The lines behind `entries`, in the order given: from `recent` where it has them, the rest
 * from `fetch` (called at once, in this tick, with the entries it lacks; a line it cannot
 * find comes back undefined).
 */
export async function linesOf<E extends { seq: number }>(
  entries: readonly E[],
  recent: RecentLines,
  fetch: (missing: E[]) => Promise<(Buffer | undefined)[]>,
): Promise<(Buffer | undefined)[]> {
  const out = new Array<Buffer | undefined>(entries.length);
  const missing: number[] = [];
  entries.forEach((entry, i) => {
    const cached = recent.get(entry.seq);
    if (cached) out[i] = cached;
    else missing.push(i);
  });
  if (missing.length === 0) return out;
  const lines = await fetch(missing.map((i) => entries[i] as E));
  missing.forEach((i, k) => {
    out[i] = lines[k];
  });
  return out;
}
