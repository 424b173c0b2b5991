import { createHash } from "node:crypto";
import type { Logger } from "../log.js";
import { isRecord, str } from "../mail/event.js";
import type { Redactor } from "./redact.js";
import { SYNTHETIC_PREFIX } from "./sse-position.js";
import type { SseMessage } from "./sse-reader.js";

/** A stable id for a frame that carries none, so its replays are recognised. */
export function syntheticId(type: string, key: string | undefined, time: string | undefined, raw: string) {
  if (key === undefined && time === undefined) {
    return `${SYNTHETIC_PREFIX}${createHash("sha1").update(raw).digest("hex").slice(0, 20)}`;
  }
  return `${SYNTHETIC_PREFIX}${type}:${key ?? ""}:${time ?? ""}`;
}

/** The upstream id of a frame: the SSE `id:` field, else one inside `data`. */
export function upstreamIdOf(message: SseMessage, data: Record<string, unknown>): string | undefined {
  const id = message.id || str(data.id) || str(data.eventId) || str(data.event_id);
  return id === undefined || id === "" ? undefined : id;
}

/**
 * A frame's JSON data and its id and event name, redacted: upstream may echo our token
 * anywhere in an event, and it never reaches a result. Undefined when the data is not a
 * JSON object.
 */
export function decodeFrame(
  message: SseMessage,
  redact: Redactor,
): { message: SseMessage; data: Record<string, unknown> } | undefined {
  let data: unknown;
  try {
    data = redact.value(JSON.parse(message.data));
  } catch {
    return undefined;
  }
  if (!isRecord(data)) return undefined;
  return {
    message: {
      id: message.id === undefined ? undefined : redact.text(message.id),
      event: message.event === undefined ? undefined : redact.text(message.event),
      data: message.data,
    },
    data,
  };
}

/**
 * `decodeFrame`, saying on the log what was skipped when the data is not a JSON object: one
 * bad frame must not cost the events behind it. (Redacted whole, then cut: a cut first could
 * leave half a token that no longer matches.)
 */
export function decodeFrameOrSkip(
  message: SseMessage,
  redact: Redactor,
  log: Logger,
  where: { kind: string; identity: string },
): ReturnType<typeof decodeFrame> {
  const frame = decodeFrame(message, redact);
  if (frame === undefined) {
    const id = message.id ? ` (id ${redact.text(message.id).slice(0, 80)})` : "";
    log.warn(
      `${where.kind}: skipped an event for ${where.identity} whose data is not a JSON object${id}: ${JSON.stringify(redact.text(message.data).slice(0, 80))}`,
    );
  }
  return frame;
}
