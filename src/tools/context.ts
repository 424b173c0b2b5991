import type { CursorStore, StoredCursor } from "../cursors/store.js";
import { MailEventsError } from "../errors.js";
import type { Position, Source } from "../sources/source.js";
import type { Deliveries } from "./deliveries.js";
import type { WaitMemory } from "./wait-memory.js";

/** What every tool receives. Built once by `createServer`; tests build it the same way. */
export interface ToolContext {
  source: Source;
  cursors: CursorStore;
  deliveries: Deliveries;
  /** What waits learned about each identity's log (positions that were "now" at some time). */
  waits: WaitMemory;
  defaultIdentity: string | undefined;
  /** Aborted when the server shuts down: in-flight long-polls stop at once. */
  shutdown: AbortSignal;
  now: () => number;
  /** Longest single upstream long-poll, ms (the vendors cap it at 25 s). */
  maxPollMs: number;
  /** How often a waiting call reports progress, ms (the spec asks for ≤ 10 s). */
  progressEveryMs: number;
}

export function resolveIdentity(identity: string | undefined, context: ToolContext): string {
  const resolved = identity?.trim() || context.defaultIdentity;
  if (resolved === undefined) {
    throw new MailEventsError(
      "IDENTITY_REQUIRED",
      "no identity given: pass `identity` (the mailbox address or handle), or set MAIL_EVENTS_IDENTITY",
    );
  }
  // The local inbox keys mail by lower-cased address; hosted handles keep their case.
  return context.source.kind === "local" ? resolved.toLowerCase() : resolved;
}

/** The call's own signal joined with server shutdown. */
export const callSignal = (signal: AbortSignal, context: ToolContext): AbortSignal =>
  AbortSignal.any([signal, context.shutdown]);

/**
 * Marks a cursor stored before epochs existed, on a source that has them: it is of an
 * unknown log, so the source treats it as belonging to another one.
 */
const UNKNOWN_EPOCH = "";

export function storedPosition(stored: StoredCursor | undefined, source: Source): Position | null {
  if (stored === undefined) return null;
  const epoch = stored.epoch ?? (source.kind === "local" ? UNKNOWN_EPOCH : undefined);
  return {
    cursor: stored.cursor,
    order: stored.order,
    ...(stored.seen === undefined ? {} : { seen: stored.seen }),
    ...(epoch === undefined ? {} : { epoch }),
  };
}
