#!/usr/bin/env node
// The composition root: the only module that touches process (env, argv, stdio, signals).
import { stat } from "node:fs/promises";
import process, { stdout } from "node:process";
import { type App, inboxOptions, openApp } from "./app.js";
import { failureLine, inboxLines, serveReadyLine } from "./cli/status-lines.js";
import { usage } from "./cli/usage.js";
import { VERBS, verbUsage } from "./cli/verbs.js";
import { type Invocation, loadConfig } from "./config.js";
import { MailEventsError } from "./errors.js";
import { processProbe, setDefaultProcessProbe } from "./lock/process-probe.js";
import { lineLogger } from "./log.js";
import { preloadHtml } from "./mail/html.js";
import { createServer, VERSION } from "./server.js";
import { preloadHttp } from "./sources/http-client.js";
import { prepareStateDir } from "./state-dir.js";
import { guardedStdioTransport } from "./transport/guarded-stdio.js";

const log = lineLogger((line) => process.stderr.write(line));

/** One line, never a stack trace (unless MAIL_EVENTS_DEBUG=1 asks for it), then exit 2. */
function fail(error: unknown): never {
  process.stderr.write(failureLine(error));
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
 * The local inbox starts in the background, so the ready line waits for it; when it fails,
 * its own error line says so instead.
 */
function announceReady(config: Invocation["config"], app: App): void {
  if (app.inbox === undefined) log.info(serveReadyLine(config));
  else
    app.inbox.then(
      (running) => log.info(serveReadyLine(config, running)),
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
  const transport = guardedStdioTransport(process.stdin, stdout, log);
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
  const lines = inboxLines(config, running);
  log.info(lines.log);
  // The addresses are this command's output, so they go to stdout as well.
  stdout.write(lines.stdout);
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
      stdout.write(verb ? verbUsage(verb, VERSION) : usage(VERSION));
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
