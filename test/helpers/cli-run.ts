import { type ChildProcess, execFile, spawn } from "node:child_process";
import { DIST_MAIN } from "./smtp-inbox.js";

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

export { until } from "./until.js";

/** A Node stack frame, as a crash would print it. */
export const STACK_FRAME = /^\s+at .+\(?.+:\d+:\d+\)?$/m;
