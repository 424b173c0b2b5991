#!/usr/bin/env node
// The composition root: the only module that touches process (env, argv, stdio, signals).
import process, { stdout } from "node:process";
import { inboxOptions, openApp } from "./app.js";
import { type Invocation, loadConfig } from "./config.js";
import { loadDurableFileLibraries } from "./cursors/durable-file.js";
import { isMailEventsError } from "./errors.js";
import { lineLogger } from "./log.js";
import { preloadHtml } from "./mail/html.js";
import { createServer, VERSION } from "./server.js";
import { preloadHttp } from "./sources/http-client.js";
import { StdioReplyTransport } from "./transport/stdio-reply-transport.js";

const USAGE = `mail-events-mcp ${VERSION} — wait for email and read mailbox events, as MCP tools

Usage:
  mail-events-mcp [serve]              MCP server on stdio (default)
  mail-events-mcp inbox                run the local inbox alone (SMTP + HTTP on 127.0.0.1)
  mail-events-mcp wait [identity]      wait for an email; JSON on stdout; exit 1 on timeout
        [--from S] [--subject S] [--contains S] [--timeout SECONDS] [--max-age SECONDS]
  mail-events-mcp pull [identity]      one page of events [--since N] [--types a,b] [--limit N] [--timeout MS] [--no-commit]
  mail-events-mcp cursor [identity]    the stored cursor

Settings (flag or environment variable):
  --source     MAIL_EVENTS_SOURCE      local | inboxbase | mails | molted   (default local)
  --url        MAIL_EVENTS_URL         hosted API base URL (hosted sources)
  --token      MAIL_EVENTS_TOKEN       bearer token
  --identity   MAIL_EVENTS_IDENTITY    default identity
  --state-dir  MAIL_EVENTS_STATE_DIR   cursors and the local inbox's log
  --smtp-port  MAIL_EVENTS_SMTP_PORT   local inbox SMTP port (default 2525)
  --http-port  MAIL_EVENTS_HTTP_PORT   local inbox HTTP port (default 2580)
`;

const log = lineLogger((line) => process.stderr.write(line));

function fail(error: unknown): never {
  const message = isMailEventsError(error) ? error.message : ((error as Error)?.stack ?? String(error));
  process.stderr.write(`mail-events-mcp: ${message}\n`);
  process.exit(2);
}

/** Runs `stop` once on stdin EOF, SIGINT or SIGTERM; a stuck cleanup cannot hold the exit. */
function onShutdown(stop: () => Promise<void>, watchStdin: boolean): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2_000).unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // `on`, not `once`: a library listener loaded later (signal-exit does this) re-raises the
  // signal if, as it runs, it sees no other listener — and a `once` listener is gone by then.
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  // The SDK's stdio transport does not react to stdin EOF; a host that closes our stdin is gone.
  if (watchStdin) {
    process.stdin.once("end", handler);
    process.stdin.once("close", handler);
  }
}

async function serve(invocation: Invocation): Promise<void> {
  const app = await openApp(invocation.config, log);
  const { server, connect, cleanup } = createServer(app.deps);
  onShutdown(async () => {
    await cleanup();
    await app.close();
  }, true);
  await connect(new StdioReplyTransport(process.stdin, process.stdout));
  // What tool calls need but the handshake does not (undici, html-to-text, the cursor file's
  // lock and atomic writer) loads just after the client says it is initialized: `tools/list`
  // is answered first, and the first call does not pay ~80 ms for the load. (Loading on the
  // first call instead would keep a never-used server ~14 MiB smaller, but every used one
  // ends up the same size.)
  server.server.oninitialized = () => {
    setTimeout(
      () => void Promise.allSettled([preloadHttp(), preloadHtml(), loadDurableFileLibraries()]),
      50,
    ).unref();
  };
}

async function inbox(invocation: Invocation): Promise<void> {
  const { config } = invocation;
  // Commands other than `serve` load their code on demand, so the MCP server starts sooner.
  const { startInbox } = await import("./inbox/index.js");
  const running = await startInbox(inboxOptions(config, log));
  log.info(
    `local inbox: SMTP smtp://127.0.0.1:${running.smtpPort}  HTTP ${running.httpUrl}  state ${config.stateDir}`,
  );
  // The addresses are this command's output, so they go to stdout as well.
  stdout.write(
    `${JSON.stringify({ smtp: `smtp://127.0.0.1:${running.smtpPort}`, http: running.httpUrl })}\n`,
  );
  onShutdown(() => running.close(), false);
}

async function tool(invocation: Invocation): Promise<void> {
  const { runToolCommand } = await import("./cli.js");
  const app = await openApp(invocation.config, log);
  const abort = new AbortController();
  process.on("SIGINT", () => abort.abort());
  process.on("SIGTERM", () => abort.abort());
  let code: number;
  try {
    // CLI mode: stdout carries this command's JSON result, not JSON-RPC.
    code = await runToolCommand(invocation, app.deps, (text) => stdout.write(text), abort.signal);
  } finally {
    await app.close();
  }
  process.exit(code);
}

async function main(): Promise<void> {
  let invocation: Invocation;
  try {
    invocation = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    fail(error);
  }
  switch (invocation.command) {
    case "help":
      stdout.write(USAGE);
      return;
    case "version":
      stdout.write(`${VERSION}\n`);
      return;
    case "serve":
      return serve(invocation);
    case "inbox":
      return inbox(invocation);
    case "wait":
    case "pull":
    case "cursor":
      return tool(invocation);
    default:
      fail(new Error(`unknown command ${JSON.stringify(invocation.command)}; run mail-events-mcp --help`));
  }
}

main().catch(fail);
