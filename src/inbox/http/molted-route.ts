import type { ServerResponse } from "node:http";
import { typeMatcher } from "../../mail/event.js";
import type { InboxLog } from "../log/inbox-log.js";
import type { LogRecord } from "../log/log-format.js";
import type { LogEntry } from "../log/log-index.js";
import { streamEvents } from "./event-stream.js";
import { identityParam } from "./http-util.js";

/** The molted dialect's name for each log event type: a received mail is routed inbound mail. */
const MOLTED_TYPES: Record<string, string> = { "email.received": "inbound.routed" };
const moltedType = (type: string): string => MOLTED_TYPES[type] ?? type;

/** How many past events an unknown `since` replays (the hosted API's replay limit). */
const REPLAY_LIMIT = 1_000;

export interface MoltedRouteOptions {
  /** Silence after which a `: keepalive` comment is sent, so proxies keep the stream open. */
  keepaliveMs: number;
}

function frame(tenantId: string) {
  return (record: LogRecord): string => {
    const d = record.data;
    const data = {
      id: record.id,
      type: moltedType(record.type),
      timestamp: new Date(record.ts).toISOString(),
      tenantId,
      contactEmail: record.from,
      messageId: d.messageId ?? null,
      from: d.from,
      to: d.to,
      subject: d.subject,
      threadId: d.threadId ?? null,
      labels: d.labels ?? [],
      hasAttachments: d.hasAttachments === true,
      text: d.text,
      ...(typeof d.html === "string" ? { html: d.html } : {}),
    };
    // As upstream: the id travels only inside `data`.
    return `data: ${JSON.stringify(data)}\n\n`;
  };
}

/**
 * Where to start: after `since` (an event id of this log); an id this log does not know
 * (compacted away, or from another log) replays the newest 1,000; no `since` means live only.
 */
function startAfter(log: InboxLog, identity: string, since: string | null): number {
  if (since === null || since.trim() === "") return log.lastSeq;
  const seq = log.seqOf(since.trim());
  if (seq !== undefined) return seq;
  const list = log.index.list(identity);
  if (list === undefined || list.length <= REPLAY_LIMIT) return 0;
  return (list.at(list.length - REPLAY_LIMIT - 1) as LogEntry).seq;
}

/**
 * `GET /v1/agent/events/stream?tenantId&eventTypes&contactEmail&since` — the molted dialect
 * (SPEC §1.3): replay after `since`, then live, on one open stream. The tenant is the
 * mailbox address (or `*`); `contactEmail` is the sender. Replay is never cut short: a
 * client far behind gets every event, a page at a time.
 */
export async function serveMolted(
  log: InboxLog,
  res: ServerResponse,
  query: URLSearchParams,
  options: MoltedRouteOptions,
): Promise<void> {
  const identity = identityParam(query.get("tenantId"), "tenantId");
  const matches = typeMatcher(query.get("eventTypes"));
  const contact = query.get("contactEmail")?.trim().toLowerCase() || undefined;
  const after = startAfter(log, identity, query.get("since"));
  await streamEvents(res, {
    log,
    identity,
    after,
    accept: (entry) => matches(moltedType(entry.type)) && (contact === undefined || entry.from === contact),
    frame: frame(identity),
    keepaliveMs: options.keepaliveMs,
    windowMs: 0,
  });
}
