import { MailEventsError } from "../errors.js";
import { emailFields, type NormalizedEvent, normalizedEvent, str, toEpochMs } from "../mail/event.js";
import { baseUrl } from "./base-url.js";
import type { Position } from "./source.js";
import type { SseDialect } from "./sse-dialect.js";
import { syntheticId, upstreamIdOf } from "./sse-frame.js";
import { boundedId, isTimeCursor, upstreamTypes } from "./sse-position.js";
import type { SseMessage } from "./sse-reader.js";
import { SseSource, type SseSourceOptions } from "./sse-source.js";

/**
 * Every type molted documents (upstream-docs/molted-event-stream.txt). Its `eventTypes`
 * filter takes exact types only, so a `delivery.*` filter is sent as the eight delivery types.
 */
export const MOLTED_TYPES: readonly string[] = [
  "delivery.queued",
  "delivery.accepted",
  "delivery.sent",
  "delivery.delivered",
  "delivery.deferred",
  "delivery.bounced",
  "delivery.complained",
  "delivery.failed",
  "inbound.classified",
  "inbound.routed",
  "journey.step_completed",
  "journey.completed",
  "policy.blocked",
  "send.queued",
  "send.approval_pending",
  "send.approval_decided",
  "followup.scheduled",
  "followup.executed",
  "coordination.lease_acquired",
  "coordination.lease_released",
  "coordination.consensus_requested",
];

export interface MoltedIdentity {
  tenantId: string;
  contactEmail?: string;
}

/**
 * `tenant_abc` or `tenant_abc?contactEmail=user@example.com`. The contact filter lives in
 * the identity so that each filtered stream keeps its own cursor (its positions differ from
 * the tenant's). The value is percent-decoded but `+` is kept, as addresses use it.
 */
function parseMoltedIdentity(identity: string): MoltedIdentity {
  const q = identity.indexOf("?");
  const tenantId = q === -1 ? identity : identity.slice(0, q);
  if (tenantId === "") throw badIdentity(identity, "the tenant id before `?` is empty");
  if (q === -1) return { tenantId };
  const result: MoltedIdentity = { tenantId };
  for (const pair of identity.slice(q + 1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (name !== "contactEmail") throw badIdentity(identity, `unknown filter ${JSON.stringify(name)}`);
    let value: string;
    try {
      value = decodeURIComponent(eq === -1 ? "" : pair.slice(eq + 1));
    } catch {
      throw badIdentity(identity, "contactEmail is not valid percent-encoding");
    }
    if (value === "") throw badIdentity(identity, "contactEmail is empty");
    result.contactEmail = value;
  }
  return result;
}

const badIdentity = (identity: string, why: string) =>
  new MailEventsError(
    "INVALID_INPUT",
    `molted identity ${JSON.stringify(identity)} is not valid (${why}); write the tenant id, optionally followed by ?contactEmail=<address>`,
  );

export function normalizeMoltedEvent(
  message: SseMessage,
  data: Record<string, unknown>,
  identity: string,
): { event: NormalizedEvent; upstreamId: string | undefined } {
  const type = message.event ?? str(data.type) ?? str(data.event) ?? "message";
  const rawTime = str(data.timestamp) ?? str(data.createdAt) ?? str(data.created_at) ?? str(data.occurredAt);
  const ts = toEpochMs(rawTime) ?? Date.now();
  // requestId and messageId are shared by every event of one send, so they are not event
  // ids; with the type and time they still make a stable key for dropping replays.
  const { eventId, upstreamId } = boundedId(upstreamIdOf(message, data));
  const email = emailFields(data);
  const contact = str(data.contactEmail);
  const fields = email ?? (contact === undefined ? undefined : {});
  if (fields && contact !== undefined) {
    // The contact is the sender of inbound mail and the recipient of everything we send.
    if (type.startsWith("inbound.")) fields.from ??= contact;
    else fields.to ??= [contact];
  }
  const event = normalizedEvent({
    id: eventId ?? syntheticId(type, str(data.requestId) ?? str(data.messageId), rawTime, message.data),
    type,
    identity,
    ts,
    email: fields,
    data,
  });
  return { event, upstreamId };
}

/** The molted dialect (SPEC §1.3): `GET /v1/agent/events/stream`, replay then live. */
export function moltedDialect(url: string): SseDialect & { resumesFromTime: false } {
  const base = baseUrl(url);
  return {
    kind: "molted",
    resumesFromTime: false,
    request(identity: string, types: readonly string[], from: Position) {
      const { tenantId, contactEmail } = parseMoltedIdentity(identity);
      const target = new URL(`${base}/v1/agent/events/stream`);
      target.searchParams.set("tenantId", tenantId);
      const csv = upstreamTypes(types, MOLTED_TYPES);
      if (csv !== undefined) target.searchParams.set("eventTypes", csv);
      if (contactEmail !== undefined) target.searchParams.set("contactEmail", contactEmail);
      // molted replays only after an event id; from a time, the stream starts live.
      if (!isTimeCursor(from.cursor)) target.searchParams.set("since", String(from.cursor));
      return { url: target, headers: {} };
    },
    normalize: normalizeMoltedEvent,
  };
}

/**
 * The `molted` source. Identity = the tenant id, optionally `tenant?contactEmail=<address>`
 * to follow one contact. Resumes with `since=<last event id>` (the server replays up to
 * 1,000 events, then goes live) and drops its at-least-once duplicates by id; the id may
 * come in the SSE `id:` field or inside `data` (`id`, `eventId`, `event_id`).
 */
export class MoltedSource extends SseSource {
  constructor(options: SseSourceOptions) {
    super(moltedDialect(options.url), options);
  }
}
