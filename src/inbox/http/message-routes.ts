import type { IncomingMessage, ServerResponse } from "node:http";
import { InboxRequestError } from "../../errors.js";
import { readFullMessage } from "../../mail/full-message.js";
import type { InboxLog } from "../log/inbox-log.js";
import type { LogRecord } from "../log/log-format.js";
import { identityParam, intParam, sendJson } from "./http-util.js";

const MESSAGE_PATH = /^\/v1\/messages\/([^/]+)(?:\/(raw|attachments\/(\d{1,4})))?\/?$/;
const CLEAR_PATH = /^\/v1\/identities\/([^/]+)\/messages\/?$/;
/** Newest mails listed at once (the web page's first screen). */
const MAX_LIST = 500;

const decode = (raw: string, what: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InboxRequestError(400, `the ${what} in the path is not valid URL encoding`);
  }
};

async function recordOf(log: InboxLog, id: string): Promise<LogRecord> {
  const seq = log.seqOf(id);
  const entry = seq === undefined ? undefined : log.index.find(seq);
  // A shared log's entry may be gone from the store before this process's index hears of it.
  const record = entry === undefined ? undefined : (await log.read([entry]))[0];
  if (record === undefined) {
    throw new InboxRequestError(
      404,
      `no email ${JSON.stringify(id.slice(0, 80))} in this inbox (cleared, dropped by retention, or of an earlier log); ids come from wait_for_email or pull_events`,
    );
  }
  return record;
}

async function rawOf(log: InboxLog, id: string): Promise<Buffer> {
  const raw = await log.rawMessage(id);
  if (raw === undefined)
    throw new InboxRequestError(404, `the original bytes of email ${id} are no longer stored`);
  return raw;
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const strs = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];

/** The `get_email` shape of one stored mail, plus its HTML for the web page's sandboxed frame. */
export async function messageView(log: InboxLog, id: string, base: string) {
  const record = await recordOf(log, id);
  const d = record.data;
  const subject = str(d.subject);
  const full = await readFullMessage(await rawOf(log, id), subject);
  const path = `${base}/v1/messages/${encodeURIComponent(record.id)}`;
  return {
    email: {
      id: record.id,
      seq: record.seq,
      identity: record.ids[0] ?? "*",
      from: str(d.from),
      to: strs(d.to),
      cc: strs(d.cc),
      subject,
      receivedAt: new Date(record.ts).toISOString(),
      messageId: typeof d.messageId === "string" ? d.messageId : null,
      text: full.text,
      truncated: full.truncated,
      codes: full.codes,
      links: full.links,
      attachments: full.attachments.map((a) => ({ ...a, url: `${path}/attachments/${a.index}` })),
      headers: (typeof d.headers === "object" && d.headers !== null ? d.headers : {}) as Record<
        string,
        string
      >,
    },
    html: full.html ?? null,
  };
}

/** A filename safe inside a quoted `Content-Disposition` parameter, plus its RFC 5987 form. */
function disposition(filename: string | null, index: number): string {
  const name = filename ?? `attachment-${index}`;
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** The newest mails of `identity`, newest first, as short rows (the web page's list). */
async function listMessages(log: InboxLog, identity: string, limit: number) {
  const list = log.index.list(identity);
  const entries = [];
  for (let i = (list?.length ?? 0) - 1; i >= 0 && entries.length < limit; i--) entries.push(list?.at(i));
  const records = await log.read(entries.filter((e) => e !== undefined));
  return records.map((r) => ({
    id: r.id,
    seq: r.seq,
    from: str(r.data.from),
    to: strs(r.data.to),
    subject: str(r.data.subject),
    receivedAt: new Date(r.ts).toISOString(),
    codes: strs(r.data.codes),
    hasAttachments: r.data.hasAttachments === true,
  }));
}

/**
 * The message API (SPEC §8): one mail as JSON, its raw bytes, one attachment's bytes, the
 * newest mails of an identity, and clearing. Returns false when the path is none of these.
 */
export async function serveMessages(
  log: InboxLog,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const clear = CLEAR_PATH.exec(url.pathname);
  if (clear) {
    if (req.method !== "DELETE") {
      res.setHeader("allow", "DELETE");
      throw new InboxRequestError(405, "clear an identity's mail with DELETE");
    }
    const identity = identityParam(decode(clear[1] as string, "identity"), "identity");
    const cleared = await log.clear(identity);
    sendJson(res, 200, { identity, cleared });
    return true;
  }
  if (url.pathname === "/v1/messages" || url.pathname === "/v1/messages/") {
    const identity = identityParam(url.searchParams.get("identity") ?? "*", "identity");
    const limit = intParam(url.searchParams, "limit", 1, MAX_LIST, 100);
    sendJson(res, 200, {
      identity,
      lastSeq: log.lastSeq,
      messages: await listMessages(log, identity, limit),
    });
    return true;
  }
  const match = MESSAGE_PATH.exec(url.pathname);
  if (!match) return false;
  if (req.method === "DELETE") throw new InboxRequestError(405, "messages are read with GET");
  const id = decode(match[1] as string, "email id");
  if (match[2] === "raw") {
    await recordOf(log, id);
    const raw = await rawOf(log, id);
    res.writeHead(200, {
      "content-type": "message/rfc822",
      "content-length": raw.length,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "content-disposition": `inline; filename="${id}.eml"`,
    });
    res.end(req.method === "HEAD" ? undefined : raw);
    return true;
  }
  if (match[3] !== undefined) {
    const index = Number(match[3]);
    const record = await recordOf(log, id);
    const full = await readFullMessage(await rawOf(log, id), str(record.data.subject), index);
    const info = full.attachments[index];
    if (info === undefined || full.content === undefined) {
      throw new InboxRequestError(
        404,
        `email ${id} has no attachment ${index} (it has ${full.attachments.length})`,
      );
    }
    res.writeHead(200, {
      // Served as a download, never rendered in our origin: an HTML attachment could script it.
      "content-type": info.contentType || "application/octet-stream",
      "content-length": full.content.length,
      "content-disposition": disposition(info.filename, index),
      "content-security-policy": "default-src 'none'; sandbox",
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : full.content);
    return true;
  }
  const base = `http://${req.headers.host ?? "127.0.0.1"}`;
  sendJson(res, 200, await messageView(log, id, base));
  return true;
}
