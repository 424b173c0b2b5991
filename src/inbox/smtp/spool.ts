import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, open, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ensurePrivateDir, PRIVATE_FILE_MODE } from "../../state-dir.js";
import { writeFully } from "../log/log-format.js";
import type { ByteBudget } from "./byte-budget.js";

interface SpoolFile {
  handle: FileHandle;
  path: string;
  size: number;
}

/** Spool files of this process start with this; others' are leftovers of a crash. */
const RUN = randomBytes(4).toString("hex");

/** A message as received: in memory or in a synced spool file, with its size and digest. */
export interface Received {
  size: number;
  sha256: string;
  /** The synced spool file, when the message did not stay in memory. */
  path?: string;
  /** The whole message (read back from the spool file if it is there). */
  bytes(): Promise<Buffer>;
  /** Forgets the message: frees its memory, removes its spool file. */
  discard(): Promise<void>;
}

/**
 * One message arriving over SMTP. It stays in memory while it is small (`memoryBytes`) and
 * the budget shared by all sessions has room; past either it goes to a file in the spool
 * directory as it arrives, so N concurrent large messages cost disk, not N times their size
 * in memory. Bytes over `maxBytes` are counted and dropped (the sink answers 552).
 */
export class IncomingMessage {
  readonly #spoolDir: string;
  readonly #budget: ByteBudget;
  readonly #memoryBytes: number;
  readonly #maxBytes: number;
  readonly #hash = createHash("sha256");
  #chunks: Buffer[] = [];
  #held = 0;
  #file: SpoolFile | undefined;
  #error: Error | undefined;
  /** Writes to the spool file, one after another. */
  #writing: Promise<void> = Promise.resolve();
  /** Bytes seen, including any over the limit. */
  size = 0;

  constructor(spoolDir: string, budget: ByteBudget, memoryBytes: number, maxBytes: number) {
    this.#spoolDir = spoolDir;
    this.#budget = budget;
    this.#memoryBytes = memoryBytes;
    this.#maxBytes = maxBytes;
  }

  /** The first write error (a full disk), if any: the message cannot be stored. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Takes one chunk; a returned promise means "wait for it before the next chunk". */
  push(chunk: Buffer): Promise<void> | undefined {
    this.size += chunk.length;
    if (this.size > this.#maxBytes || this.#error) return undefined;
    this.#hash.update(chunk);
    if (this.#file === undefined && this.#held + chunk.length <= this.#memoryBytes) {
      if (this.#budget.tryTake(chunk.length)) {
        this.#chunks.push(chunk);
        this.#held += chunk.length;
        return undefined;
      }
    }
    this.#writing = this.#writing
      .then(() => (this.#error ? undefined : this.#spill(chunk)))
      .catch((error: Error) => {
        this.#error ??= error;
        this.#releaseMemory();
      });
    return this.#writing;
  }

  async #spill(chunk: Buffer): Promise<void> {
    if (this.#file === undefined) {
      await ensurePrivateDir(this.#spoolDir);
      const path = join(this.#spoolDir, `${RUN}-${randomBytes(6).toString("hex")}.part`);
      this.#file = { handle: await open(path, "wx+", PRIVATE_FILE_MODE), path, size: 0 };
      const held = Buffer.concat(this.#chunks, this.#held);
      this.#releaseMemory();
      await this.#writeToFile(held);
    }
    await this.#writeToFile(chunk);
  }

  async #writeToFile(bytes: Buffer): Promise<void> {
    const file = this.#file as SpoolFile;
    await writeFully(file.handle, bytes, file.size);
    file.size += bytes.length;
  }

  #releaseMemory(): void {
    this.#budget.give(this.#held);
    this.#chunks = [];
    this.#held = 0;
  }

  /** Ends the message: a spool file is synced (so it can be adopted as is). */
  async finish(): Promise<Received> {
    await this.#writing;
    const sha256 = this.#hash.digest("hex");
    const size = this.size;
    const file = this.#file;
    if (file !== undefined && this.#error === undefined) {
      try {
        await file.handle.datasync();
      } catch (error) {
        this.#error = error as Error;
      }
    }
    await file?.handle.close().catch(() => {});
    if (this.#error !== undefined) {
      await this.discard();
      throw this.#error;
    }
    if (file === undefined) {
      const bytes = Buffer.concat(this.#chunks, this.#held);
      this.#chunks = [bytes];
      return {
        size,
        sha256,
        bytes: async () => bytes,
        discard: async () => this.#releaseMemory(),
      };
    }
    return {
      size,
      sha256,
      path: file.path,
      bytes: () => readFile(file.path),
      discard: () => unlink(file.path).catch(() => {}),
    };
  }

  /** Drops whatever was received (a refused or broken transfer). */
  async discard(): Promise<void> {
    await this.#writing;
    this.#releaseMemory();
    const file = this.#file;
    if (file !== undefined) {
      await file.handle.close().catch(() => {});
      await unlink(file.path).catch(() => {});
    }
  }
}

/** Removes spool files a crashed process left behind (never acknowledged: not yet logged). */
export async function sweepSpool(spoolDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(spoolDir);
  } catch {
    return;
  }
  for (const name of names) if (!name.startsWith(RUN)) await unlink(join(spoolDir, name)).catch(() => {});
}
