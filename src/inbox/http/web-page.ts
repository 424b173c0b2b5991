import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PAGE_CSS } from "./web/page-css.js";
import { PAGE_HTML } from "./web/page-html.js";
import { PAGE_JS } from "./web/page-js.js";

/** The cookie a browser holds the inbox token in, once `/?token=…` was opened. */
export const TOKEN_COOKIE = "mail_events_inbox";

/**
 * The page's own policy: its script and style only, requests to this inbox only. The mail's
 * HTML frame (srcdoc) inherits it and adds its own, which allows no script and nothing remote.
 */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; connect-src 'self'; " +
  "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Record<string, { type: string; body: string }> = {
  "/": { type: "text/html; charset=utf-8", body: PAGE_HTML },
  "/inbox.js": { type: "text/javascript; charset=utf-8", body: PAGE_JS },
  "/inbox.css": { type: "text/css; charset=utf-8", body: PAGE_CSS },
};

const same = (given: string, token: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** The token a request carries: `Authorization: Bearer`, else the page's cookie. */
export function requestToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === TOKEN_COOKIE) return decodeURIComponent(value.join("="));
  }
  return undefined;
}

export const tokenMatches = (req: IncomingMessage, token: string | undefined): boolean => {
  if (token === undefined) return true;
  const given = requestToken(req);
  return given !== undefined && same(given, token);
};

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    "content-security-policy": PAGE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  });
  res.end(body);
}

const LOCKED = `<!doctype html><meta charset="utf-8"><title>Local inbox: token needed</title>
<body style="font:15px system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>This inbox needs its token</h1>
<p>It was started with <code>MAIL_EVENTS_INBOX_TOKEN</code>. Open <code>/?token=&lt;that token&gt;</code> once;
the browser keeps it in a cookie for this inbox only and the address bar drops it.</p></body>`;

/**
 * `GET /` (and its script and style): the page people read the inbox with. With a token,
 * `/?token=…` sets an HttpOnly, SameSite=Strict cookie and redirects to `/`, so the token
 * leaves the address bar and history. Returns false when the path is not the page's.
 */
export function servePage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  token: string | undefined,
): boolean {
  const asset = ASSETS[url.pathname];
  if (asset === undefined) return false;
  const given = url.searchParams.get("token");
  if (url.pathname === "/" && given !== null && token !== undefined && same(given, token)) {
    res.writeHead(303, {
      location: "/",
      "set-cookie": `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      "cache-control": "no-store",
      "content-length": 0,
    });
    res.end();
    return true;
  }
  if (!tokenMatches(req, token)) {
    send(res, 401, "text/html; charset=utf-8", url.pathname === "/" ? LOCKED : "");
    return true;
  }
  send(res, 200, asset.type, req.method === "HEAD" ? "" : asset.body);
  return true;
}
