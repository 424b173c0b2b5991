import { z } from "zod";
import { MailEventsError } from "../errors.js";
import {
  emailFields,
  isRecord,
  type NormalizedEvent,
  normalizedEvent,
  str,
  toEpochMs,
} from "../mail/event.js";
import type { Cursor, Position } from "./source.js";

// The cursor endpoint's wire format (SPEC §1.1): its events and pages, and its seq cursors.

export const WireEvent = z.looseObject({
  seq: z.coerce.number().int().nonnegative(),
  id: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
  ts: z.union([z.number(), z.string()]).optional(),
  tsIso: z.string().optional(),
  createdAt: z.union([z.string(), z.number()]).optional(),
  convId: z.string().nullish(),
  data: z.unknown().optional(),
});

export const WirePage = z.looseObject({
  identity: z.string().optional(),
  events: z.array(WireEvent),
  cursor: z.coerce.number().int().nonnegative().nullish(),
  hasMore: z.boolean().optional(),
  // The local inbox adds these (unknown fields to a hosted client): which log this is, and
  // its highest seq, so a cursor of another log or from beyond its end is recognised.
  epoch: z.string().optional(),
  head: z.number().int().nonnegative().optional(),
});

export type WireEvent = z.infer<typeof WireEvent>;

export function normalizeInboxbaseEvent(wire: WireEvent, identity: string): NormalizedEvent {
  const data = isRecord(wire.data) ? wire.data : {};
  const type = wire.type ?? str(data.type) ?? str(data.event) ?? "unknown";
  const ts =
    toEpochMs(wire.ts) ??
    toEpochMs(wire.tsIso) ??
    toEpochMs(wire.createdAt) ??
    toEpochMs(data.receivedAt) ??
    toEpochMs(data.ts) ??
    0;
  const email = emailFields(data);
  if (email && email.threadId === undefined && typeof wire.convId === "string") email.threadId = wire.convId;
  return normalizedEvent({
    id: str(wire.id) ?? `seq_${wire.seq}`,
    seq: wire.seq,
    type,
    identity,
    ts,
    email,
    data,
  });
}

export const at = (seq: number, epoch?: string): Position =>
  epoch === undefined ? { cursor: seq, order: seq } : { cursor: seq, order: seq, epoch };

/** The position just after `event` in a seq-numbered log (the cursor endpoint's dialect). */
export const seqPositionOf = (event: NormalizedEvent): Position => at(event.seq ?? 0);

/** A client-supplied cursor for a seq-numbered log: a whole number ≥ 0. */
export function parseSeqCursor(cursor: Cursor, kind: string): Position {
  const seq = typeof cursor === "number" ? cursor : Number(cursor);
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new MailEventsError("INVALID_INPUT", `since must be a whole number ≥ 0 for ${kind}, got ${cursor}`);
  }
  return at(seq);
}
