/**
 * Bytes the inbox holds in memory for messages in flight, shared by every SMTP session: a
 * message that does not fit is written to disk as it arrives instead, so memory stays
 * bounded however many clients send at once.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit; false (nothing taken) when they do not. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/**
 * Admits work weighted by bytes: parsing a message costs several times its size in memory,
 * so parses wait here until the bytes being parsed fit under `limit`. One parse is always
 * admitted, however large, so a message at the size limit still goes through.
 */
export class ByteGate {
  readonly #limit: number;
  #inUse = 0;
  #running = 0;
  readonly #queue: { bytes: number; go: () => void }[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Runs `fn` once `bytes` fit; first come, first served. */
  async run<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    if (this.#queue.length > 0 || !this.#fits(bytes)) {
      await new Promise<void>((go) => this.#queue.push({ bytes, go }));
    } else {
      this.#take(bytes);
    }
    try {
      return await fn();
    } finally {
      this.#inUse -= bytes;
      this.#running--;
      this.#next();
    }
  }

  #fits(bytes: number): boolean {
    return this.#running === 0 || this.#inUse + bytes <= this.#limit;
  }

  #take(bytes: number): void {
    this.#inUse += bytes;
    this.#running++;
  }

  #next(): void {
    for (let head = this.#queue[0]; head !== undefined && this.#fits(head.bytes); head = this.#queue[0]) {
      this.#queue.shift();
      this.#take(head.bytes);
      head.go();
    }
  }
}
