import type { IncomingMessage, ServerResponse } from "node:http";
import { InboxRequestError } from "../../errors.js";
import { typeMatcher } from "../../mail/event.js";
import type { InboxLog } from "../log/inbox-log.js";
import type { LogRecord } from "../log/log-format.js";
import type { LogEntry } from "../log/log-index.js";
import { streamEvents } from "./event-stream.js";
import { identityParam } from "./http-util.js";

/** The mails dialect's name for each log event type. */
const MAILS_TYPES: Record<string, string> = { "email.received": "message.received" };
const mailsType = (type: string): string => MAILS_TYPES[type] ?? type;

export interface MailsRouteOptions {
  /** How long one connection stays open (the hosted API closes after at most 25 s). */
  windowMs: number;
  /** Silence after which a `: keepalive` comment is sent (2 s upstream). */
  keepaliveMs: number;
}

function frame(identity: string) {
  return (record: LogRecord): string => {
    const d = record.data;
    const rcpt = (d.envelope as { rcptTo?: string[] } | undefined)?.rcptTo?.[0] ?? "";
    const type = mailsType(record.type);
    const data = {
      event: type,
      email_id: record.id,
      mailbox: identity === "*" ? rcpt : identity,
      from: d.fromAddress ?? d.from,
      subject: d.subject,
      received_at: new Date(record.ts).toISOString(),
      thread_id: d.threadId ?? null,
      labels: d.labels ?? [],
      has_attachments: d.hasAttachments === true,
      // Beyond the documented fields: the body, so a reader can find codes without a second call.
      to: d.to,
      message_id: d.messageId ?? null,
      text: d.text,
      ...(typeof d.html === "string" ? { html: d.html } : {}),
    };
    return `event: ${type}\nid: ${record.id}\ndata: ${JSON.stringify(data)}\n\n`;
  };
}

/**
 * Where to resume: after `Last-Event-ID`, else from `since` (ISO, inclusive), else from now
 * on. An id this log does not know (another epoch, made up, compacted away) replays from the
 * start of the current log: a gap would lose mail silently, a replay only repeats it.
 */
function startAfter(log: InboxLog, identity: string, req: IncomingMessage, query: URLSearchParams): number {
  const header = req.headers["last-event-id"];
  const lastId = typeof header === "string" ? header.trim() : "";
  if (lastId !== "") return Math.min(log.seqOf(lastId) ?? 0, log.lastSeq);
  const since = query.get("since");
  if (since === null || since === "") return log.lastSeq;
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) {
    throw new InboxRequestError(
      400,
      `since must be an ISO 8601 timestamp, got ${JSON.stringify(since.slice(0, 60))}`,
    );
  }
  const list = log.index.list(identity);
  if (list === undefined) return log.lastSeq;
  const index = list.indexAtOrAfterTs(ms);
  return index === 0 ? 0 : (list.at(index - 1) as LogEntry).seq;
}

/**
 * `GET /v1/events?mailbox&types&since` with `Last-Event-ID` — the mails dialect (SPEC §1.2):
 * `event: message.received` frames with ids, keepalives every 2 s, and a connection closed
 * after a bounded window that the client reopens. No `mailbox` means all mail.
 */
export async function serveMails(
  log: InboxLog,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  options: MailsRouteOptions,
): Promise<void> {
  const mailbox = query.get("mailbox");
  const identity = mailbox === null || mailbox === "" ? "*" : identityParam(mailbox, "mailbox");
  const matches = typeMatcher(query.get("types"));
  const after = startAfter(log, identity, req, query);
  await streamEvents(res, {
    log,
    identity,
    after,
    accept: (entry) => matches(mailsType(entry.type)),
    frame: frame(identity),
    keepaliveMs: options.keepaliveMs,
    windowMs: options.windowMs,
  });
}
