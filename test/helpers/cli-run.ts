import { type ChildProcess, execFile, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll } from "vitest";
import { DIST_MAIN, requireDist, startTestInbox, type TestInbox, tempDir } from "./smtp-inbox.js";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `node dist/main.js <args>` with only PATH and `env`; resolves when it exits (30 s cap). */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DIST_MAIN, ...args],
      { timeout: 30_000, env: { PATH: process.env.PATH ?? "", ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
      },
    );
  });
}

/** The same, started and left running: for signals, and for `serve` which runs until told. */
export function startCli(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; stderr(): string; exited: Promise<CliResult> } {
  const child = spawn(process.execPath, [DIST_MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<CliResult>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stderr: () => stderr, exited };
}

/**
 * A test inbox for the whole file, and `cli(args)`: the built bin run against it with a state
 * dir of its own, finding the inbox on its ports the way a user's second terminal does.
 */
export function cliAgainstTestInbox(): {
  inbox(): TestInbox;
  cli(args: string[]): Promise<CliResult>;
} {
  let t: TestInbox | undefined;
  let state = "";
  beforeAll(async () => {
    requireDist();
    t = await startTestInbox();
    state = await tempDir();
  });
  afterAll(async () => {
    await t?.close(true);
    await rm(state, { recursive: true, force: true });
  });
  const inbox = () => {
    if (t === undefined) throw new Error("cliAgainstTestInbox: used outside a test");
    return t;
  };
  return {
    inbox,
    cli: (args) =>
      runCli(args, {
        MAIL_EVENTS_STATE_DIR: state,
        MAIL_EVENTS_SMTP_PORT: String(inbox().inbox.smtpPort),
        MAIL_EVENTS_HTTP_PORT: new URL(inbox().inbox.httpUrl).port,
      }),
  };
}

export { until } from "./until.js";

/** A Node stack frame, as a crash would print it. */
export const STACK_FRAME = /^\s+at .+\(?.+:\d+:\d+\)?$/m;
