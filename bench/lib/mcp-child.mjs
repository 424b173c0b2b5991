import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The server under test: dist/main.js, or another build's entry (`--server=PATH` in run.mjs). */
export const SERVER_ENTRY = process.env.BENCH_SERVER_ENTRY
  ? resolve(process.env.BENCH_SERVER_ENTRY)
  : join(ROOT, "dist/main.js");

/** Resident set size of a live process, in MiB, from /proc/<pid>/status. */
export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return kb / 1024;
}

/**
 * Spawns `node <args>` and connects a real SDK Client over stdio. Returns the client, the
 * child's pid, and how long spawn → initialize took.
 */
export async function connectChild({ args, env = {}, cwd = ROOT, name = "bench", onTransport }) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    cwd,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (process.env.BENCH_CHILD_STDERR) process.stderr.write(chunk);
  });
  const client = new Client({ name, version: "0" });
  onTransport?.(transport);
  const t0 = performance.now();
  await client.connect(transport);
  const initializedAt = performance.now();
  return {
    client,
    transport,
    pid: transport.pid,
    t0,
    initializedAt,
    stderr: () => stderr,
    async close() {
      await client.close().catch(() => {});
    },
  };
}

/** Server env for our server against a fake inboxbase upstream. */
export const serverEnv = (url, stateDir, extra = {}) => ({
  MAIL_EVENTS_SOURCE: "inboxbase",
  MAIL_EVENTS_URL: url,
  MAIL_EVENTS_STATE_DIR: stateDir,
  ...extra,
});

/** Calls a tool; throws with the text of a tool error. */
export async function callOk(client, name, args, options = {}) {
  const result = await client.callTool({ name, arguments: args }, undefined, {
    timeout: 120_000,
    ...options,
  });
  if (result.isError) throw new Error(`${name} failed: ${result.content.map((c) => c.text ?? "").join(" ")}`);
  return result.structuredContent;
}
