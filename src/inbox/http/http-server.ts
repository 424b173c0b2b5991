import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { InboxRequestError, isMailEventsError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { HEALTH_SERVICE } from "../lifecycle/health.js";
import type { InboxLog } from "../log/inbox-log.js";
import { connectionCap, openFileLimit } from "./fd-limit.js";
import { hostAllowed, originHost } from "./host-check.js";
import { identityParam, sendJson } from "./http-util.js";
import { serveInboxbase } from "./inboxbase-route.js";
import { serveMails } from "./mails-route.js";
import { serveMessages } from "./message-routes.js";
import { serveMolted } from "./molted-route.js";
import { servePage, tokenMatches } from "./web-page.js";

export interface InboxHttpOptions {
  host: string;
  port: number;
  /** Bearer token every route but `/v1/health` requires, if set. */
  token?: string | undefined;
  log: Logger;
  version: string;
  /** This process's pid, which `/v1/health` tells a token holder (who runs the inbox). */
  pid: number;
  /** Resolves once the log is open; requests wait for it (health included). */
  ready: Promise<{ eventLog: InboxLog; smtpPort: number }>;
  mailsWindowMs: number;
  mailsKeepaliveMs: number;
  moltedKeepaliveMs: number;
  /** Concurrent connections served; more are closed at once (default {@link MAX_CONNECTIONS}). */
  maxConnections?: number | undefined;
}

/**
 * Each connection is a file descriptor, and the SMTP side and the log share the process's
 * (often 1,024). Without a cap, a client opening connections until accept() fails takes the
 * SMTP listener down with it. 256 leaves room for ~50 long-polls from each of a few servers.
 */
export const MAX_CONNECTIONS = 256;

export interface InboxHttp {
  port: number;
  close(): Promise<void>;
}

const EVENTS_PATH = /^\/v1\/identities\/([^/]+)\/events\/?$/;

const authorized = (req: IncomingMessage, token: string | undefined): boolean => tokenMatches(req, token);

/**
 * Refuses what a browser page that is not ours sends: a `Host` that is not this inbox's
 * (DNS rebinding) or an `Origin` of another site. No CORS headers are ever sent, so a
 * preflight (OPTIONS) never grants anything.
 */
function refuseForeign(req: IncomingMessage, allowed: (host: string | undefined) => boolean): void {
  if (!allowed(req.headers.host)) {
    throw new InboxRequestError(
      403,
      "this inbox answers only requests addressed to it (Host: 127.0.0.1 or localhost); open it at http://127.0.0.1:<port>/",
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !allowed(originHost(origin))) {
    throw new InboxRequestError(403, "requests from other web sites are refused");
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  options: InboxHttpOptions,
  allowed: (host: string | undefined) => boolean,
): Promise<void> {
  // With a token, a rebinding page cannot authenticate (it has no token, and the page's
  // cookie is SameSite=Strict), so any name may reach the inbox — `host.docker.internal`
  // from a container — as long as a browser's Origin is the inbox itself.
  const host = req.headers.host?.toLowerCase();
  refuseForeign(
    req,
    options.token === undefined
      ? allowed
      : (h) => h !== undefined && (allowed(h) || h.toLowerCase() === host),
  );
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (req.method === "DELETE") {
    // A browser sends neither header cross-site without a preflight, which gets no CORS grant.
    if (req.headers.authorization === undefined && req.headers["x-mail-events"] === undefined) {
      throw new InboxRequestError(
        403,
        "a DELETE needs an Authorization: Bearer or an X-Mail-Events: 1 header",
      );
    }
  } else if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, DELETE");
    throw new InboxRequestError(
      405,
      `${req.method} is not supported; this inbox is read with GET (and cleared with DELETE)`,
    );
  }
  const { eventLog, smtpPort } = await options.ready;
  if (url.pathname === "/v1/health") {
    const basics = { ok: true, service: HEALTH_SERVICE, version: options.version };
    // With a token, who runs the inbox and where it takes mail is for token holders.
    if (!authorized(req, options.token)) return sendJson(res, 200, basics);
    return sendJson(res, 200, {
      ...basics,
      smtpPort,
      httpPort: (req.socket.localPort ?? options.port) as number,
      pid: options.pid,
      epoch: eventLog.epoch,
      waiting: eventLog.waiting,
    });
  }
  if (eventLog.closed) {
    // A 5xx is retried by clients; by then another process may have taken the inbox over.
    throw new InboxRequestError(503, "the local inbox is shutting down; try again in a moment");
  }
  eventLog.checkAvailable();
  if (servePage(req, res, url, options.token)) return;
  if (!authorized(req, options.token)) {
    res.setHeader("www-authenticate", 'Bearer realm="mail-events-mcp-inbox"');
    throw new InboxRequestError(
      401,
      "missing or wrong bearer token; send Authorization: Bearer <the token the inbox was started with: MAIL_EVENTS_INBOX_TOKEN, else MAIL_EVENTS_TOKEN>",
    );
  }
  if (await serveMessages(eventLog, req, res, url)) return;
  if (req.method === "DELETE")
    throw new InboxRequestError(405, "only /v1/identities/{handle}/messages takes DELETE");
  const events = EVENTS_PATH.exec(url.pathname);
  if (events) {
    let handle: string;
    try {
      handle = decodeURIComponent(events[1] as string);
    } catch {
      throw new InboxRequestError(400, "the identity in the path is not valid URL encoding");
    }
    return serveInboxbase(eventLog, identityParam(handle, "identity"), url.searchParams, res);
  }
  if (url.pathname === "/v1/events") {
    return serveMails(eventLog, req, res, url.searchParams, {
      windowMs: options.mailsWindowMs,
      keepaliveMs: options.mailsKeepaliveMs,
    });
  }
  if (url.pathname === "/v1/agent/events/stream") {
    return serveMolted(eventLog, res, url.searchParams, { keepaliveMs: options.moltedKeepaliveMs });
  }
  throw new InboxRequestError(
    404,
    `no route ${url.pathname}; try /v1/identities/{address}/events, /v1/events, /v1/agent/events/stream or /v1/health`,
  );
}

/**
 * The inbox's HTTP side on loopback: the inboxbase cursor endpoint, both SSE dialects and a
 * health check a second process uses to recognise a running inbox. Every failure is a JSON
 * `{ error }`; a handler that throws never takes the server down.
 */
export async function startInboxHttp(options: InboxHttpOptions): Promise<InboxHttp> {
  const server: Server = createServer({
    // Idle keep-alive sockets hold a slot of the cap; clients reconnect cheaply on loopback.
    keepAliveTimeout: 10_000,
    // A client that never finishes its request (headers or body) is cut off. Long-polls and
    // SSE streams are responses, which these do not bound.
    headersTimeout: 15_000,
    requestTimeout: 15_000,
    connectionsCheckingInterval: 5_000,
  });
  const limit = openFileLimit();
  const cap = options.maxConnections ?? connectionCap(MAX_CONNECTIONS, limit);
  if (cap < MAX_CONNECTIONS && options.maxConnections === undefined) {
    options.log.warn(
      `local inbox HTTP: the open-file limit is ${limit} (ulimit -n); serving at most ${cap} connections at once — raise the limit to 1024 or more for ${MAX_CONNECTIONS}`,
    );
  }
  server.maxConnections = cap;
  watchLimits(server, cap, options.log);
  const allowed = hostAllowed(options.host);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(req, res, options, allowed).catch((error: unknown) => {
      // A shared store that does not answer is a 503 a client retries, saying which store.
      const store = isMailEventsError(error) && error.code === "STORE_UNAVAILABLE";
      const status = error instanceof InboxRequestError ? error.status : store ? 503 : 500;
      if (status === 500) options.log.error(`local inbox HTTP: ${(error as Error)?.stack ?? String(error)}`);
      const message =
        error instanceof InboxRequestError
          ? error.message
          : store
            ? `[STORE_UNAVAILABLE] ${(error as Error).message}`
            : "internal error in the local inbox; see its log";
      if (!res.headersSent) sendJson(res, status, { error: message });
      else if (!res.writableEnded) res.end();
    });
  });
  server.on("clientError", (_error, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\r\n{"error":"bad request"}');
    else socket.destroy();
  });
  const onAcceptError = acceptErrorLogger(options.log);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      // After listen, an error is a failed accept (EMFILE): unhandled, it would kill the process.
      server.on("error", (error: NodeJS.ErrnoException) => onAcceptError(error));
      resolve();
    });
  });

  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Says once, not per connection, that the cap was reached; says it again only after the
 * load has fallen to half the cap, so a client hammering the port cannot flood the log.
 */
function watchLimits(server: Server, cap: number, log: Logger): void {
  let open = 0;
  let warned = false;
  server.on("connection", (socket) => {
    open++;
    socket.once("close", () => {
      open--;
      if (warned && open <= cap / 2) warned = false;
    });
  });
  server.on("drop", () => {
    if (warned) return;
    warned = true;
    log.warn(
      `local inbox HTTP: ${cap} connections are open, the most it serves at once; refusing new ones until some close`,
    );
  });
}

/** A failed accept (out of file descriptors, mostly) is logged once a minute at most. */
function acceptErrorLogger(log: Logger): (error: NodeJS.ErrnoException) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < 60_000) return;
    last = now;
    const hint =
      error.code === "EMFILE" || error.code === "ENFILE"
        ? "the process is out of file descriptors; close idle clients or raise `ulimit -n`"
        : "new connections may be refused";
    log.error(`local inbox HTTP: accepting a connection failed (${error.code ?? error.message}); ${hint}`);
  };
}
