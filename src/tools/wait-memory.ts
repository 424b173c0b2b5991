import type { NormalizedEvent } from "../mail/event.js";
import type { Position } from "../sources/source.js";

/** A position that was the end of the log when `seenAt` (epoch ms) was "now". */
interface Checkpoint {
  position: Position;
  seenAt: number;
}

const CHECKPOINTS_PER_IDENTITY = 8;
const IDENTITIES = 1_000;
const KNOWN_EVENTS = 10_000;

/**
 * What this process learned about identities' logs while waiting, in memory only:
 * - checkpoints: a position that was the head at some time. Every event at or before it
 *   landed before that time, so a later wait whose window starts after it can seek from
 *   there instead of bisecting the whole log again;
 * - where the events it handed out stand, so `after: <email id>` can start just past one.
 * Losing it (a restart) costs a few more requests, never an email.
 */
export class WaitMemory {
  readonly #checkpoints = new Map<string, Checkpoint[]>();
  /** Where handed-out events stand: the newest generation, and the one before it (dropped whole). */
  #known = new Map<string, Position>();
  #knownBefore = new Map<string, Position>();

  /** Records that `position` was the end of `identity`'s log at `seenAt`. */
  checkpoint(identity: string, position: Position | null, seenAt: number): void {
    if (position === null) return;
    const list = this.#checkpoints.get(identity) ?? [];
    this.#checkpoints.delete(identity); // re-inserted last: the map evicts the stalest identity
    list.push({ position, seenAt });
    if (list.length > CHECKPOINTS_PER_IDENTITY) list.shift();
    this.#checkpoints.set(identity, list);
    if (this.#checkpoints.size > IDENTITIES)
      this.#checkpoints.delete(this.#checkpoints.keys().next().value as string);
  }

  /**
   * The newest checkpoint whose every event is older than `notBefore`, with `marginMs` for an
   * upstream clock behind ours; null when none is that old.
   */
  before(identity: string, notBefore: number, marginMs: number): Position | null {
    const list = this.#checkpoints.get(identity) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const point = list[i] as Checkpoint;
      if (point.seenAt + marginMs < notBefore) return point.position;
    }
    return null;
  }

  /** Remembers where `event` stands, so it can be named in `after`. */
  know(event: NormalizedEvent, position: Position): void {
    // Two generations instead of evicting one entry per event: at least the last KNOWN_EVENTS
    // events are remembered (at most twice that), at the cost of one Map set each.
    if (this.#known.size >= KNOWN_EVENTS) {
      this.#knownBefore = this.#known;
      this.#known = new Map();
    }
    this.#known.set(event.id, position);
  }

  positionOf(id: string): Position | undefined {
    return this.#known.get(id) ?? this.#knownBefore.get(id);
  }
}
