import type { EmailFields, NormalizedEvent } from "./event.js";
import type { Extraction } from "./extract.js";
import { extractionOf } from "./extraction-of.js";
import { neutralize, oneLine } from "./text.js";

/**
 * JSON bytes one pulled event may take: a page of 50 stays under 64 KB (SPEC §3), with room
 * for the page's own fields. An event over it is cut further, level by level.
 */
export const EVENT_JSON_BYTES = 1_280;

interface Level {
  snippet: number;
  field: number;
  items: number;
  links: number;
  recipients: number;
  /** Keep the vendor payload's other fields (strings cut at `field`). */
  data: boolean;
}
const LEVELS: Level[] = [
  { snippet: 300, field: 200, items: 10, links: 3, recipients: 10, data: true },
  { snippet: 120, field: 60, items: 3, links: 1, recipients: 3, data: true },
  { snippet: 0, field: 60, items: 1, links: 1, recipients: 1, data: false },
  { snippet: 0, field: 30, items: 0, links: 0, recipients: 1, data: false },
];

// What an email event's `data` holds that the output's `email` already carries, or that is
// too big for a page: the body, the HTML, the headers, the envelope (`get_email` has them all).
const BULKY = new Set([
  "html",
  "text",
  "snippet",
  "preview",
  "body",
  "raw",
  "headers",
  "envelope",
  "references",
  "attachments",
  "codes",
  "codesAsShown",
  "links",
]);

function trimData(value: unknown, level: Level, depth = 0): unknown {
  if (typeof value === "string") return oneLine(value, level.field);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.slice(0, level.items).map((v) => trimData(v, level, depth + 1));
  // fromEntries, not assignment: a vendor's own "__proto__" key stays a plain field.
  return Object.fromEntries(
    Object.entries(value)
      .slice(0, 30)
      .map(([k, v]) => [oneLine(k, 60), trimData(v, level, depth + 1)]),
  );
}

/** An email event's payload without what its `email` carries (the same object when it holds none). */
function payloadOf(event: NormalizedEvent): Record<string, unknown> {
  const data = event.data;
  if (event.email === undefined || !Object.keys(data).some((k) => BULKY.has(k))) return data;
  return Object.fromEntries(Object.entries(data).filter(([k]) => !BULKY.has(k)));
}

function emailAt(
  email: EmailFields,
  found: Extraction,
  level: Level,
): EmailFields & { codes: string[]; links: string[] } {
  // Key order is the output's: from, to, subject, text, messageId, threadId, labels, hasAttachments.
  const fields: EmailFields & { codes: string[]; links: string[] } = {} as never;
  if (email.from !== undefined) fields.from = oneLine(email.from, level.field);
  if (email.to !== undefined) fields.to = email.to.slice(0, level.recipients).map((t) => oneLine(t, 320));
  if (email.subject !== undefined) fields.subject = oneLine(email.subject, Math.max(level.field, 100));
  if (level.snippet > 0) fields.text = oneLine(found.text, level.snippet);
  if (email.messageId !== undefined) fields.messageId = oneLine(email.messageId, level.field);
  if (email.threadId !== undefined) fields.threadId = oneLine(email.threadId, level.field);
  if (email.labels !== undefined)
    fields.labels = email.labels.slice(0, level.items).map((l) => oneLine(l, 60));
  if (email.hasAttachments !== undefined) fields.hasAttachments = email.hasAttachments;
  fields.codes = found.codes;
  fields.links = found.links.slice(0, level.links).filter((l) => l.length <= 600);
  return fields;
}

/**
 * A pulled event, kept small: an email's snippet, codes and links instead of its body, HTML
 * and headers; other payloads' strings cut; every event within EVENT_JSON_BYTES when its own
 * id and identity allow.
 */
export function eventForOutput(event: NormalizedEvent): NormalizedEvent {
  const email = event.email;
  // What every level starts from, computed once.
  const found = email === undefined ? undefined : extractionOf(event);
  const data = payloadOf(event);
  let out = event;
  for (const level of LEVELS) {
    out = { ...event, data: level.data ? (trimData(data, level) as Record<string, unknown>) : {} };
    if (email !== undefined && found !== undefined) out.email = emailAt(email, found, level);
    if (Buffer.byteLength(JSON.stringify(out)) <= EVENT_JSON_BYTES) return out;
  }
  return out;
}

/**
 * One pulled event in a line: what an agent acts on (sender, subject, codes, links), or a
 * short rendering of a non-email payload. Every part comes from upstream: callers fence it.
 */
export function eventLine(event: NormalizedEvent): string {
  const head = `${event.seq === undefined ? oneLine(event.id, 100) : `#${event.seq}`} ${oneLine(event.type, 100)} ${event.receivedAt}`;
  const email = event.email as (EmailFields & { codes?: string[]; links?: string[] }) | undefined;
  if (email === undefined) {
    const data = Object.keys(event.data).length === 0 ? "" : ` ${oneLine(JSON.stringify(event.data), 300)}`;
    return neutralize(`${head}${data}`);
  }
  const parts = [
    `${head}${email.from ? ` from ${oneLine(email.from, 200)}` : ""}${
      email.to?.length
        ? ` to ${email.to
            .slice(0, 3)
            .map((t) => oneLine(t, 100))
            .join(", ")}`
        : ""
    }`,
    ...(email.subject ? [`subject: ${oneLine(email.subject, 200)}`] : []),
    ...(email.codes?.length ? [`codes: ${email.codes.join(", ")}`] : []),
    ...(email.links?.length ? [`links: ${email.links.map((l) => oneLine(l, 600)).join(" ")}`] : []),
  ];
  return neutralize(parts.join(" | "));
}
