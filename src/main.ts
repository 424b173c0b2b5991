#!/usr/bin/env node
// The composition root: the only module that touches process (env, argv, stdio, signals).
import { stat } from "node:fs/promises";
import process, { stdout } from "node:process";
import { inboxOptions, openApp } from "./app.js";
import { VERBS, verbUsage } from "./cli/verbs.js";
import { type Invocation, loadConfig, redact } from "./config.js";
import { isMailEventsError, MailEventsError } from "./errors.js";
import { lineLimit, requestIdIn } from "./line-limit.js";
import { processProbe, setDefaultProcessProbe } from "./lock/process-probe.js";
import { lineLogger } from "./log.js";
import { preloadHtml } from "./mail/html.js";
import { createServer, VERSION } from "./server.js";
import { preloadHttp } from "./sources/http-client.js";
import { prepareStateDir } from "./state-dir.js";
import { StdioReplyTransport } from "./transport/stdio-reply-transport.js";

/** The longest JSON-RPC line read from stdin (the SDK's own buffer limit); longer is dropped. */
const MAX_STDIN_LINE_BYTES = 10 * 1024 * 1024;

const USAGE = `mail-events-mcp ${VERSION} — wait for email and read mailbox events, as MCP tools

Usage:
  mail-events-mcp [serve]                      MCP server on stdio (default); a "ready:" line on stderr
  mail-events-mcp inbox                        run the local inbox alone (SMTP + HTTP on 127.0.0.1)
  mail-events-mcp wait [identity]              wait for an email; JSON on stdout; exit 1 on timeout
        [--from S] [--to S] [--subject S] [--contains S] [--after ID] [--timeout SECONDS] [--max-age SECONDS]
  mail-events-mcp pull [identity]              one page of events
        [--since CURSOR] [--types a,b] [--limit N] [--timeout MS] [--no-commit] [--group NAME]
  mail-events-mcp cursor [identity]            the stored cursor [--types a,b]
  mail-events-mcp set-cursor [identity] <cursor>   move the stored cursor [--types a,b]
  mail-events-mcp get <id> [identity]          one email in full
  mail-events-mcp <command> --help             one command's arguments and flags

Exit codes: 0 ok, 1 wait found nothing in time, 2 error, 130/143 stopped by Ctrl-C/SIGTERM.

Settings (flag or environment variable):
  --source     MAIL_EVENTS_SOURCE      local | inboxbase | mails | molted   (default local)
  --url        MAIL_EVENTS_URL         hosted API base URL (hosted sources)
  --token      MAIL_EVENTS_TOKEN       bearer token
  --identity   MAIL_EVENTS_IDENTITY    default identity
  --state-dir  MAIL_EVENTS_STATE_DIR   cursors and the local inbox's log
  --smtp-port  MAIL_EVENTS_SMTP_PORT   local inbox SMTP port (default 2525)
  --http-port  MAIL_EVENTS_HTTP_PORT   local inbox HTTP port (default 2580)
  --store      MAIL_EVENTS_STORE       file | redis://… cursor store (default file)
  --listen     MAIL_EVENTS_LISTEN      address the local inbox binds (default 127.0.0.1)
  --inbox-token MAIL_EVENTS_INBOX_TOKEN  token the inbox's HTTP and page require (needed off loopback)
`;

const log = lineLogger((line) => process.stderr.write(line));

/** One line, never a stack trace (unless MAIL_EVENTS_DEBUG=1 asks for it), then exit 2. */
function fail(error: unknown): never {
  const message = isMailEventsError(error)
    ? `[${error.code}] ${error.message}`
    : `[INTERNAL] unexpected error: ${String((error as Error)?.message ?? error).split("\n")[0]}; this is a bug in mail-events-mcp — please report it (MAIL_EVENTS_DEBUG=1 shows where)`;
  process.stderr.write(`mail-events-mcp: ${message}\n`);
  if (process.env.MAIL_EVENTS_DEBUG === "1" && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  process.exit(2);
}

/**
 * Runs `stop` once on stdin EOF, SIGINT or SIGTERM; a stuck cleanup cannot hold the exit.
 * Returns the handler, for other reasons to stop (exit code 1 when `failed`).
 */
function onShutdown(stop: () => Promise<void>, watchStdin: boolean): (failed?: boolean) => void {
  let stopping = false;
  const handler = (failed = false) => {
    if (stopping) return;
    stopping = true;
    const code = failed ? 1 : 0;
    setTimeout(() => process.exit(code), 2_000).unref();
    stop().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  // `on`, not `once`: a library listener loaded later (signal-exit does this) re-raises the
  // signal if, as it runs, it sees no other listener — and a `once` listener is gone by then.
  process.on("SIGINT", () => handler());
  process.on("SIGTERM", () => handler());
  // The SDK's stdio transport does not react to stdin EOF; a host that closes our stdin is gone.
  if (watchStdin) {
    process.stdin.once("end", () => handler());
    process.stdin.once("close", () => handler());
  }
  return handler;
}

/**
 * Makes the state directory and proves it writable. A directory that cannot even be made
 * ends the process with one line (the cursor store could not open). `serve` and the tool
 * commands go on with one that exists but is read-only: the host sees the server, and each
 * tool call that needs the directory answers `[STATE_DIR]`, which the agent can read.
 */
async function checkStateDir(dir: string, tolerateReadOnly: boolean, quietIfLocal = false): Promise<void> {
  try {
    prepareStateDir(dir);
  } catch (error) {
    const exists = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!tolerateReadOnly || !exists) fail(error);
    // The local inbox, failing on the same directory, says so itself.
    if (!quietIfLocal) log.error((error as Error).message);
  }
}

/**
 * One stderr line once the server can be used: where the local inbox listens (its page is at
 * the HTTP URL's `/`), or which hosted source it reads. The local inbox starts in the
 * background, so the line waits for it; when it fails, its own error line says so instead.
 */
function announceReady(config: Invocation["config"], app: Awaited<ReturnType<typeof openApp>>): void {
  const identity = config.identity === undefined ? "no default identity" : `identity ${config.identity}`;
  if (app.inbox === undefined) {
    log.info(
      `ready: MCP on stdio; source ${config.source} at ${redact(config.url ?? "", config)}; ${identity}`,
    );
    return;
  }
  app.inbox.then(
    (running) =>
      log.info(
        `ready: MCP on stdio; local inbox SMTP smtp://127.0.0.1:${running.smtpPort}, HTTP ${running.httpUrl.replace(/\/*$/, "/")}` +
          `${running.owned ? "" : " (shared with the inbox already running)"}; ${identity}; state ${config.stateDir}`,
      ),
    () => {},
  );
}

async function serve(invocation: Invocation): Promise<void> {
  await checkStateDir(invocation.config.stateDir, true, invocation.config.source === "local");
  const app = await openApp(invocation.config, log);
  const { server, connect, cleanup } = createServer(app.deps);
  let leaving = false;
  const stop = onShutdown(async () => {
    leaving = true;
    await cleanup();
    await app.close();
  }, true);
  const transport = new StdioReplyTransport(
    process.stdin.pipe(
      lineLimit(MAX_STDIN_LINE_BYTES, (head) => {
        const id = requestIdIn(head);
        const limit = `${MAX_STDIN_LINE_BYTES / 1024 / 1024} MiB`;
        log.warn(
          `dropped a JSON-RPC message longer than ${limit} from stdin${id === undefined ? "" : ` (request id ${JSON.stringify(id)})`}; the server goes on`,
        );
        if (id !== undefined) {
          void transport
            .send({
              jsonrpc: "2.0",
              id,
              error: {
                code: -32600,
                message: `request longer than ${limit}; this server reads up to ${limit} per message`,
              },
            })
            .catch(() => {});
        }
      }),
    ),
    stdout,
    { maxBufferSize: 4 * MAX_STDIN_LINE_BYTES },
  );
  await connect(transport);
  announceReady(invocation.config, app);
  // Should the transport ever close under us, a server that can no longer hear its client
  // must not linger holding the inbox's ports.
  server.server.onclose = () => {
    if (leaving) return;
    log.error("the MCP connection on stdio closed; exiting");
    stop(true);
  };
  // What tool calls need but the handshake does not (undici, html-to-text) loads just after
  // the client says it is initialized: `tools/list` is answered first, and the first call does not pay ~80 ms for the load. (Loading on the
  // first call instead would keep a never-used server ~14 MiB smaller, but every used one
  // ends up the same size.)
  server.server.oninitialized = () => {
    setTimeout(() => void Promise.allSettled([preloadHttp(), preloadHtml()]), 50).unref();
  };
}

async function inbox(invocation: Invocation): Promise<void> {
  const { config } = invocation;
  await checkStateDir(config.stateDir, false);
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
  const { runToolCommand, toolArguments } = await import("./cli.js");
  // A bad flag is refused before the inbox starts or the store opens.
  toolArguments(invocation);
  await checkStateDir(invocation.config.stateDir, true, invocation.config.source === "local");
  const abort = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const stopOn = (signal: NodeJS.Signals) => {
    stoppedBy ??= signal;
    abort.abort();
    // A cleanup that hangs must not keep a user's Ctrl-C from ending the command.
    setTimeout(() => process.exit(signal === "SIGINT" ? 130 : 143), 3_000).unref();
  };
  process.on("SIGINT", () => stopOn("SIGINT"));
  process.on("SIGTERM", () => stopOn("SIGTERM"));
  const app = await openApp(invocation.config, log);
  let code: number;
  try {
    // CLI mode: stdout carries this command's JSON result, not JSON-RPC.
    code = await runToolCommand(invocation, app.deps, (text) => stdout.write(text), abort.signal);
  } catch (error) {
    if (stoppedBy === undefined) throw error;
    // Stopped by the user: nothing was returned, so nothing was consumed.
    process.stderr.write(
      `mail-events-mcp: [ABORTED] ${invocation.command} stopped by ${stoppedBy} before a result; nothing was consumed, run it again to go on\n`,
    );
    code = stoppedBy === "SIGINT" ? 130 : 143;
  } finally {
    await app.close();
  }
  process.exit(code);
}

async function main(): Promise<void> {
  // Lock files name their holder by pid; this process's own, and kill(pid, 0) where /proc
  // cannot say whether a holder still runs.
  setDefaultProcessProbe(processProbe(process));
  let invocation: Invocation;
  try {
    invocation = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    fail(error);
  }
  switch (invocation.command) {
    case "help": {
      const verb = VERBS[invocation.positionals[0] ?? ""];
      stdout.write(verb ? verbUsage(verb, VERSION) : USAGE);
      return;
    }
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
    case "set-cursor":
    case "get":
      return tool(invocation);
    default:
      fail(
        new MailEventsError(
          "CONFIG_INVALID",
          `unknown command ${JSON.stringify(invocation.command)}; the commands are ${Object.keys(VERBS).join(", ")} (run mail-events-mcp --help)`,
        ),
      );
  }
}

// Whatever escapes still leaves as one line, never Node's stack dump.
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);
main().catch(fail);
