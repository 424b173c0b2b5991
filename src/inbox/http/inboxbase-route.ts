import type { ServerResponse } from "node:http";
import { typeMatcher } from "../../mail/event.js";
import type { InboxLog } from "../log/inbox-log.js";
import type { LogRecord } from "../log/log-format.js";
import { clientGone, intParam, sendJson, waitForAppend } from "./http-util.js";

/** The longest long-poll window, as the hosted API caps it. */
export const MAX_TIMEOUT_MS = 25_000;

/** One event in the inboxbase dialect (SPEC §1.1) as one identity sees it. */
export function inboxbaseEvent(record: LogRecord): Record<string, unknown> {
  const tsIso = new Date(record.ts).toISOString();
  const threadId = record.data.threadId;
  return {
    seq: record.seq,
    id: record.id,
    type: record.type,
    ts: record.ts,
    tsIso,
    createdAt: tsIso,
    ...(typeof threadId === "string" ? { convId: threadId } : {}),
    data: record.data,
  };
}

/**
 * `GET /v1/identities/{handle}/events?since&types&limit&timeoutMs` — the cursor endpoint.
 * An identity that has had no mail gets an empty page, not a 404: with a local sink, a wait
 * routinely starts before the first mail to that address. `cursor` is the last seq scanned,
 * so a reader with a `types` filter still moves forward.
 */
export async function serveInboxbase(
  log: InboxLog,
  identity: string,
  query: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const since = intParam(query, "since", 0, Number.MAX_SAFE_INTEGER, 0);
  const limit = intParam(query, "limit", 1, 200, 50);
  const timeoutMs = intParam(query, "timeoutMs", 0, MAX_TIMEOUT_MS, 0);
  const matches = typeMatcher(query.get("types"));
  const accept = (entry: { type: string }) => matches(entry.type);
  const deadline = Date.now() + timeoutMs;
  const gone = clientGone(res);
  let page = log.index.page(identity, since, limit, accept);
  // A cursor of another log (the client says which it has in `epoch`), or from beyond this
  // one's end, gets its answer at once: the client restarts instead of waiting a window.
  const foreign = (query.get("epoch") ?? log.epoch) !== log.epoch || since > log.lastSeq;
  // Long-poll: sleep until an append for this identity, then look again.
  while (page.entries.length === 0 && !page.hasMore && !gone.aborted && !foreign) {
    const remaining = deadline - Date.now();
    if (!(await waitForAppend(log, identity, remaining, gone))) break;
    page = log.index.page(identity, page.cursor, limit, accept);
  }
  if (gone.aborted) return;
  const records = await log.read(page.entries);
  sendJson(res, 200, {
    identity,
    events: records.map(inboxbaseEvent),
    cursor: page.cursor,
    hasMore: page.hasMore,
    // Not in the hosted dialect (clients pass unknown fields by): which log this is and its
    // last seq, so a client can tell a cursor of another log, or from beyond this one's end.
    epoch: log.epoch,
    head: log.lastSeq,
  });
}
