import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasExited, isProcessId, type ProcessId, type ProcessProbe } from "../lock/process-probe.js";
import { makeDirs, PRIVATE_FILE_MODE } from "../state-dir.js";
import { CLAIM_LEASE_MS, type ClaimResult } from "./claims.js";
import { withLock } from "./durable-file.js";

/*
 * The file store's claims (see `claims.ts`): one small file per claimed email in a directory
 * of the state dir, made with an exclusive create ("wx"), which is atomic on every local
 * filesystem — so the claim needs no lock and no fsync on a reply's path (it matters only
 * while its claimer lives; a claim lost in a crash had no reply either). The rules that keep
 * it sound:
 * - a claim file is removed only under the directory's lock, and only by its owner (its
 *   token inside) or once it has lapsed, so no one ever removes a claim another holds;
 * - the owner removes it once the email's return is durable in the cursor file; a claimer
 *   reads the cursor file only after its exclusive create succeeded, so it sees that return;
 * - a claim names its holder, so a claim whose holder on this host has exited (killed before
 *   its reply went out) is free at once, as the state directory's locks are; only a holder
 *   on another host is waited out for the lease.
 */

interface ClaimFile {
  token: string;
  until: number;
  /** Absent in claims written before 0.2.0, and in one not written yet: the lease alone decides. */
  holder?: ProcessId;
}

const parse = (text: string): ClaimFile | undefined => {
  try {
    const parsed = JSON.parse(text) as Partial<ClaimFile>;
    if (typeof parsed.token !== "string" || typeof parsed.until !== "number") return undefined;
    const holder = isProcessId(parsed.holder) ? parsed.holder : undefined;
    return { token: parsed.token, until: parsed.until, ...(holder && { holder }) };
  } catch {
    return undefined;
  }
};

export class FileClaims {
  readonly dir: string;
  /** The token of each claim this process holds, by claim key. */
  readonly #mine = new Map<string, string>();
  readonly #probe: ProcessProbe;

  constructor(dir: string, probe: ProcessProbe) {
    this.dir = dir;
    this.#probe = probe;
  }

  /** True while `held` keeps its email from this process: not lapsed, and its holder still runs. */
  #live(held: ClaimFile | undefined, now: number): held is ClaimFile {
    if (held === undefined || held.until <= now) return false;
    return held.holder === undefined || !hasExited(this.#probe, held.holder);
  }

  #path(claimKey: string): string {
    return join(this.dir, createHash("sha256").update(claimKey).digest("hex").slice(0, 40));
  }

  /**
   * The claim in `path`, undefined when there is none. A file that does not parse yet is
   * being written by its claimer (the exclusive create comes before the write): it counts as
   * held for a lease from its last change.
   */
  #read(path: string): ClaimFile | undefined {
    try {
      const text = readFileSync(path, "utf8");
      return parse(text) ?? { token: "", until: statSync(path).mtimeMs + CLAIM_LEASE_MS };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Creates the claim file if none exists: true when this process now holds it. */
  #create(path: string, claimKey: string, now: number): boolean {
    const token = randomBytes(9).toString("hex");
    const body = JSON.stringify({ token, until: now + CLAIM_LEASE_MS, holder: this.#probe.self });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, body, { flag: "wx", mode: PRIVATE_FILE_MODE });
        this.#mine.set(claimKey, token);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EEXIST") return false;
        if (code !== "ENOENT" || attempt > 0) throw error;
        // Another process may create it at the same instant: that is no failure.
        makeDirs(this.dir);
      }
    }
    return false;
  }

  /**
   * Takes the claim `claimKey`, then asks `refused` (which reads the cursor file) whether the
   * email was returned meanwhile; a claim another live process holds is refused with its end.
   */
  async take(claimKey: string, now: number, refused: () => ClaimResult | undefined): Promise<ClaimResult> {
    const path = this.#path(claimKey);
    let created = this.#create(path, claimKey, now);
    if (!created) {
      const held = this.#read(path);
      if (this.#live(held, now)) return { claimed: false, until: held.until };
      // Lapsed, or its claimer died before replying, or it was just dropped: replace it under the lock.
      created = await withLock(`${this.dir}.lock`, () => {
        const again = this.#read(path);
        if (this.#live(again, now)) return false;
        if (again !== undefined) unlinkSync(path);
        return this.#create(path, claimKey, now);
      });
      if (!created) {
        const holder = this.#read(path);
        return holder === undefined ? { claimed: false } : { claimed: false, until: holder.until };
      }
    }
    const refusal = refused();
    if (refusal !== undefined) this.drop(claimKey).catch(() => {});
    return refusal ?? { claimed: true };
  }

  /** Removes this process's claim `claimKey` (if it still holds it). */
  async drop(claimKey: string): Promise<void> {
    const token = this.#mine.get(claimKey);
    if (token === undefined) return;
    this.#mine.delete(claimKey);
    const path = this.#path(claimKey);
    await withLock(`${this.dir}.lock`, () => {
      if (this.#read(path)?.token === token) unlinkSync(path);
    });
  }

  /** Removes claims that lapsed or whose claimers died before replying, best effort. */
  async sweep(now: number): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    if (names.length === 0) return;
    await withLock(`${this.dir}.lock`, () => {
      for (const name of names) {
        const path = join(this.dir, name);
        const held = this.#read(path);
        if (held !== undefined && !this.#live(held, now)) unlinkSync(path);
      }
    }).catch(() => {});
  }
}
