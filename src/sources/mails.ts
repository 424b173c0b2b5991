import { emailFields, type NormalizedEvent, normalizedEvent, str, toEpochMs } from "../mail/event.js";
import { baseUrl } from "./base-url.js";
import { EVENT_TYPES } from "./event-types.js";
import type { Position } from "./source.js";
import type { SseDialect } from "./sse-dialect.js";
import { syntheticId, upstreamIdOf } from "./sse-frame.js";
import { boundedId, isTimeCursor, upstreamTypes } from "./sse-position.js";
import type { SseMessage } from "./sse-reader.js";
import { SseSource, type SseSourceOptions } from "./sse-source.js";

export function normalizeMailsEvent(
  message: SseMessage,
  data: Record<string, unknown>,
  identity: string,
): { event: NormalizedEvent; upstreamId: string | undefined } {
  const type = message.event ?? str(data.event) ?? str(data.type) ?? "message";
  const rawTime = str(data.received_at) ?? str(data.timestamp) ?? str(data.created_at) ?? str(data.sent_at);
  const ts = toEpochMs(rawTime) ?? Date.now();
  const { eventId, upstreamId } = boundedId(upstreamIdOf(message, data));
  const email = emailFields(data);
  // An inbound message's mailbox is its recipient; mails does not send `to` itself.
  if (email && email.to === undefined && type === "message.received" && typeof data.mailbox === "string") {
    email.to = [data.mailbox];
  }
  const event = normalizedEvent({
    id: eventId ?? syntheticId(type, str(data.email_id), rawTime, message.data),
    type,
    identity,
    ts,
    email,
    data,
  });
  return { event, upstreamId };
}

/** The mails dialect (SPEC §1.2): `GET /v1/events`, bounded ≤ 25 s connections. */
export function mailsDialect(url: string): SseDialect & { resumesFromTime: true } {
  const base = baseUrl(url);
  return {
    kind: "mails",
    resumesFromTime: true,
    request(identity: string, types: readonly string[], from: Position) {
      const target = new URL(`${base}/v1/events`);
      target.searchParams.set("mailbox", identity);
      const csv = upstreamTypes(types, EVENT_TYPES.mails);
      if (csv !== undefined) target.searchParams.set("types", csv);
      const headers: Record<string, string> = {};
      // The documented resume is Last-Event-ID; `since` only while no frame carried an id.
      if (isTimeCursor(from.cursor)) target.searchParams.set("since", new Date(from.order).toISOString());
      else headers["last-event-id"] = String(from.cursor);
      return { url: target, headers };
    },
    normalize: normalizeMailsEvent,
  };
}

/**
 * The `mails` source: identity = the mailbox address. The server closes every connection
 * after at most 25 s; pulls reconnect with `Last-Event-ID` (or `since=<last received_at>`
 * when frames carry no ids) until their window ends, and drop replayed ids.
 */
export class MailsSource extends SseSource {
  constructor(options: SseSourceOptions) {
    super(mailsDialect(options.url), options);
  }
}
