import type { HeaderLines, Headers } from "mailparser";
import { extract } from "../../mail/extract.js";
import { analyzeHtml } from "../../mail/html.js";
import { type AttachmentInfo, addresses, readMime } from "../../mail/read-mime.js";
import { neutralize } from "../../mail/text.js";

export type { AttachmentInfo } from "../../mail/read-mime.js";

/** The SMTP envelope: who the sending client said the mail is from and to. */
export interface Envelope {
  mailFrom: string;
  rcptTo: string[];
}

/**
 * The `data` of an `email.received` event (the inboxbase dialect's field names). Bounded
 * whatever the mail holds: the text is the readable body cut at MAX_TEXT_CHARS, the codes and
 * links are extracted from the whole message at ingest, and the HTML and the attachments'
 * bytes are not in it (the raw message is kept apart).
 */
export interface MailData {
  [key: string]: unknown;
  from: string;
  fromAddress: string;
  to: string[];
  cc: string[];
  subject: string;
  /** What a person reads: the text part, else the HTML's visible text; no control characters. */
  text: string;
  /** One-time codes, normalized, best first (from the subject, text and visible HTML). */
  codes: string[];
  codesAsShown: string[];
  /** Only links that act on the account (verify, confirm, sign in, reset, invite). */
  links: string[];
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  threadId?: string;
  date?: string;
  labels: string[];
  hasAttachments: boolean;
  attachments: AttachmentInfo[];
  attachmentsOmitted?: number;
  headers: Record<string, string>;
  envelope: Envelope;
  size: number;
  /** The text was cut at MAX_TEXT_CHARS. */
  truncated?: true;
}

/** Longest stored text; the raw message holds the rest. */
export const MAX_TEXT_CHARS = 32_000;
const MAX_SUBJECT_CHARS = 2_000;
const MAX_ADDRESSES = 100;
const MAX_ADDRESS_CHARS = 320;
const MAX_REFERENCES = 20;
const MAX_HEADER_CHARS = 2_000;
/** Header names and values together; the control characters are removed, so JSON stays near this. */
const MAX_HEADERS_TOTAL = 32 * 1024;

const bounded = (value: string, max: number): string => {
  const clean = neutralize(value);
  return clean.length <= max
    ? clean
    : clean.slice(0, /[\uD800-\uDBFF]/.test(clean.charAt(max - 1)) ? max - 1 : max);
};

const addressList = (value: unknown): string[] =>
  addresses(value)
    .slice(0, MAX_ADDRESSES)
    .map((a) => bounded(a, MAX_ADDRESS_CHARS));

function headerText(value: unknown, raw: string): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? raw : value.toISOString();
  if (typeof value === "object" && value !== null && typeof (value as { text?: unknown }).text === "string") {
    return (value as { text: string }).text;
  }
  return raw;
}

/** Decoded header values by lower-cased name (repeats joined by newlines), bounded in size. */
function headerMap(headers: Headers, lines: HeaderLines): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  for (const { key, line } of lines) {
    const raw = line
      .slice(line.indexOf(":") + 1)
      .replace(/\r?\n[ \t]+/g, " ")
      .trim();
    const name = bounded(key, 100);
    const value = bounded(headerText(headers.get(key), raw), MAX_HEADER_CHARS).replace(/\n/g, " ");
    if (total + name.length + value.length > MAX_HEADERS_TOTAL) break;
    total += name.length + value.length;
    out[name] = out[name] === undefined ? value : `${out[name]}\n${value}`;
  }
  return out;
}

const headerString = (headers: Headers, key: string): string | undefined => {
  const value = headers.get(key);
  return typeof value === "string" ? value : undefined;
};

/**
 * Parses a raw RFC 5322 message (any charset, encoded words, MIME tree) into bounded event
 * data. The text is the hidden-aware reading of the mail (for HTML-only mail, the HTML's
 * visible text — never mailparser's rendering, which keeps `display:none` blocks), and the
 * codes and links come from the whole message.
 */
export async function parseMessage(raw: Buffer, envelope: Envelope): Promise<MailData> {
  const mail = await readMime(raw);
  const { headers } = mail;
  const subject = bounded(headerString(headers, "subject") ?? "", MAX_SUBJECT_CHARS);
  const fromList = addresses(headers.get("from"));
  const fromText = (headers.get("from") as { text?: string } | undefined)?.text;
  const rawReferences = headers.get("references");
  const references = (
    Array.isArray(rawReferences) ? rawReferences : typeof rawReferences === "string" ? [rawReferences] : []
  )
    .slice(0, MAX_REFERENCES)
    .map((r) => bounded(String(r), 998));
  const to = addressList(headers.get("to"));
  const html = mail.html === undefined ? undefined : analyzeHtml(mail.html);
  const found = extract({ subject, text: mail.text, html });
  // A text part is stored as sent (less its control characters); HTML as its visible text.
  const text = mail.text.trim() ? neutralize(mail.text) : found.text;
  const data: MailData = {
    from: bounded(fromText || envelope.mailFrom, 1_000),
    fromAddress: bounded(fromList[0] ?? envelope.mailFrom.toLowerCase(), MAX_ADDRESS_CHARS),
    to: to.length > 0 ? to : envelope.rcptTo,
    cc: addressList(headers.get("cc")),
    subject,
    text: bounded(text, MAX_TEXT_CHARS),
    codes: found.codes,
    codesAsShown: found.codesAsShown,
    links: found.links,
    references,
    labels: [],
    hasAttachments: mail.attachments.some((a) => !a.inline) || mail.attachmentsOmitted > 0,
    attachments: mail.attachments.map((a) => ({
      ...a,
      filename: a.filename === null ? null : bounded(a.filename, 255),
      contentType: bounded(a.contentType, 200),
    })),
    headers: headerMap(headers, mail.headerLines),
    envelope,
    size: raw.length,
  };
  if (text.length > MAX_TEXT_CHARS) data.truncated = true;
  if (mail.attachmentsOmitted > 0) data.attachmentsOmitted = mail.attachmentsOmitted;
  const messageId = headerString(headers, "message-id");
  const inReplyTo = headerString(headers, "in-reply-to");
  if (messageId) data.messageId = bounded(messageId, 998);
  if (inReplyTo) data.inReplyTo = bounded(inReplyTo, 998);
  // A thread is named after its first message: the root of References, else this mail.
  const threadId = references[0] ?? data.inReplyTo ?? data.messageId;
  if (threadId) data.threadId = threadId;
  const date = headers.get("date");
  if (date instanceof Date && !Number.isNaN(date.getTime())) data.date = date.toISOString();
  return data;
}
