import type { AddressObject, ParsedMail } from "mailparser";

/** The SMTP envelope: who the sending client said the mail is from and to. */
export interface Envelope {
  mailFrom: string;
  rcptTo: string[];
}

/** An attachment as the log records it: what it is, never its content. */
export interface AttachmentInfo {
  filename: string | null;
  contentType: string;
  size: number;
  inline: boolean;
}

/** The `data` of an `email.received` event (the inboxbase dialect's field names). */
export interface MailData {
  [key: string]: unknown;
  from: string;
  fromAddress: string;
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  html?: string;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  threadId?: string;
  date?: string;
  labels: string[];
  hasAttachments: boolean;
  attachments: AttachmentInfo[];
  headers: Record<string, string>;
  envelope: Envelope;
  size: number;
  truncated?: true;
}

/** Bodies are cut here so one mail cannot bloat the log; agents see far less anyway. */
const MAX_BODY_CHARS = 256 * 1024;
const MAX_HEADER_CHARS = 2_000;
const MAX_HEADERS_TOTAL = 64 * 1024;

type Parser = typeof import("mailparser").simpleParser;
let parser: Promise<Parser> | undefined;

/**
 * mailparser (with its charset tables and HTML converter) takes ~250 ms to load, so it is
 * loaded on the first mail, never at start-up: an idle MCP server stays quick and small.
 */
const loadParser = (): Promise<Parser> => {
  parser ??= import("mailparser").then((m) => m.simpleParser);
  return parser;
};

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const object of objects) {
    for (const entry of object.value) {
      if (entry.address) out.push(entry.address.toLowerCase());
      // Group syntax ("team: a@x, b@y;") nests the members.
      for (const member of entry.group ?? []) if (member.address) out.push(member.address.toLowerCase());
    }
  }
  return out;
}

function headerText(value: unknown, raw: string): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? raw : value.toISOString();
  if (typeof value === "object" && value !== null && typeof (value as { text?: unknown }).text === "string") {
    return (value as { text: string }).text;
  }
  return raw;
}

/** Decoded header values by lower-cased name (repeats joined by newlines), bounded in size. */
function headerMap(mail: ParsedMail): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  for (const { key, line } of mail.headerLines) {
    const raw = line
      .slice(line.indexOf(":") + 1)
      .replace(/\r?\n[ \t]+/g, " ")
      .trim();
    const value = headerText(mail.headers.get(key), raw).slice(0, MAX_HEADER_CHARS);
    if (total + value.length > MAX_HEADERS_TOTAL) break;
    total += value.length;
    out[key] = out[key] === undefined ? value : `${out[key]}\n${value}`;
  }
  return out;
}

function cut(text: string, data: MailData): string {
  if (text.length <= MAX_BODY_CHARS) return text;
  data.truncated = true;
  return text.slice(0, MAX_BODY_CHARS);
}

/**
 * Parses a raw RFC 5322 message (any charset, encoded words, MIME tree) into event data.
 * An HTML-only mail gets a plain-text rendering in `text`, so codes in it can be found.
 */
export async function parseMessage(raw: Buffer, envelope: Envelope): Promise<MailData> {
  const simpleParser = await loadParser();
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true });
  const fromList = addresses(mail.from);
  const references =
    mail.references === undefined ? [] : Array.isArray(mail.references) ? mail.references : [mail.references];
  const to = addresses(mail.to);
  const attachments: AttachmentInfo[] = mail.attachments.map((a) => ({
    filename: a.filename ?? null,
    contentType: a.contentType,
    size: a.size,
    inline: a.contentDisposition === "inline" || a.related === true,
  }));
  const data: MailData = {
    from: mail.from?.text || envelope.mailFrom,
    fromAddress: fromList[0] ?? envelope.mailFrom.toLowerCase(),
    to: to.length > 0 ? to : envelope.rcptTo,
    cc: addresses(mail.cc),
    subject: mail.subject ?? "",
    text: "",
    references,
    labels: [],
    hasAttachments: attachments.some((a) => !a.inline),
    attachments,
    headers: headerMap(mail),
    envelope,
    size: raw.length,
  };
  data.text = cut(mail.text ?? "", data);
  if (typeof mail.html === "string") data.html = cut(mail.html, data);
  if (mail.messageId) data.messageId = mail.messageId;
  if (mail.inReplyTo) data.inReplyTo = mail.inReplyTo;
  // A thread is named after its first message: the root of References, else this mail.
  const threadId = references[0] ?? mail.inReplyTo ?? mail.messageId;
  if (threadId) data.threadId = threadId;
  if (mail.date && !Number.isNaN(mail.date.getTime())) data.date = mail.date.toISOString();
  return data;
}
