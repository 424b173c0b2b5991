import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { tempDir } from "./helpers/harness.js";
import { until } from "./helpers/until.js";

const MAIN = join(import.meta.dirname, "..", "dist", "main.js");

let fake: FakeInboxbase;
let stateDir: string;
const env = () => ({
  PATH: process.env.PATH ?? "",
  MAIL_EVENTS_SOURCE: "inboxbase",
  MAIL_EVENTS_URL: fake.url,
  MAIL_EVENTS_TOKEN: "t0ken",
  MAIL_EVENTS_STATE_DIR: stateDir,
});

beforeAll(async () => {
  fake = await new FakeInboxbase().start();
  stateDir = await tempDir();
});
afterAll(async () => {
  await fake.close();
  await rm(stateDir, { recursive: true, force: true });
});

/** A raw child with line-by-line stdout, to check every byte it writes there. */
function spawnRaw(extraEnv: Record<string, string> = {}, args: string[] = []) {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...env(), ...extraEnv } });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) w(line);
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const response = async (id: number) => {
    for (;;) {
      const found = lines.map((l) => JSON.parse(l)).find((m) => m.id === id);
      if (found) return found;
      await new Promise<string>((r) => waiters.push(r));
    }
  };
  return { child, lines, send, response, stderr: () => stderr };
}

async function initialize(raw: ReturnType<typeof spawnRaw>) {
  raw.send({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
  });
  await raw.response(1);
  raw.send({ jsonrpc: "2.0", method: "notifications/initialized" });
}

const exited = (child: ChildProcessWithoutNullStreams, ms: number) =>
  Promise.race([
    once(child, "exit").then(([code]) => code as number | null),
    new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms)),
  ]);

describe("the built server over stdio", () => {
  it("lists its tools to the real SDK client", async () => {
    const client = new Client({ name: "stdio-test", version: "0" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [MAIN], env: env() }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "get_cursor",
      "get_email",
      "pull_events",
      "set_cursor",
      "wait_for_email",
    ]);
    for (const tool of tools) {
      expect(tool.outputSchema).toBeDefined();
      expect(tool.annotations).toBeDefined();
      expect(tool.description?.length).toBeGreaterThan(50);
    }
    fake.email("stdio@x.test", { subject: "Your code is 553311" });
    const result = await client.callTool({
      name: "wait_for_email",
      arguments: { identity: "stdio@x.test", timeoutSeconds: 5 },
    });
    expect((result.structuredContent as { email: { codes: string[] } }).email.codes).toEqual(["553311"]);
    await client.close();
  });

  it("writes nothing but JSON-RPC to stdout, even on errors", async () => {
    const raw = spawnRaw();
    await initialize(raw);
    raw.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    raw.send({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "pull_events", arguments: { identity: "nobody@x.test" } },
    });
    raw.send({
      jsonrpc: "2.0",
      id: 4,
      method: "tools/call",
      params: { name: "pull_events", arguments: { limit: 9999 } },
    });
    raw.send({ jsonrpc: "2.0", id: 5, method: "no/such/method" });
    const unknown = await raw.response(3);
    expect(unknown.result.isError).toBe(true);
    await raw.response(4);
    await raw.response(5);
    raw.child.stdin.end();
    expect(await exited(raw.child, 5_000)).toBe(0);
    expect(raw.lines.length).toBeGreaterThanOrEqual(5);
    for (const line of raw.lines) expect(JSON.parse(line).jsonrpc).toBe("2.0");
    expect(raw.stderr()).not.toContain("t0ken");
  });

  it("exits promptly on stdin EOF while a long-poll is in flight, and closes the upstream socket", async () => {
    fake.ensure("eof@x.test");
    const raw = spawnRaw();
    await initialize(raw);
    const closedBefore = fake.closedRequests;
    raw.send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "wait_for_email", arguments: { identity: "eof@x.test", timeoutSeconds: 60 } },
    });
    await until(() => fake.waiting > 0);
    raw.child.stdin.end();
    expect(await exited(raw.child, 3_000)).toBe(0);
    const deadline = Date.now() + 2_000;
    while (fake.closedRequests === closedBefore && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(fake.closedRequests).toBeGreaterThan(closedBefore);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("exits promptly on %s during a wait", async (signal) => {
    fake.ensure("sig@x.test");
    const raw = spawnRaw();
    await initialize(raw);
    raw.send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "wait_for_email", arguments: { identity: "sig@x.test", timeoutSeconds: 60 } },
    });
    await until(() => fake.waiting > 0);
    raw.child.kill(signal);
    expect(await exited(raw.child, 3_000)).toBe(0);
  });

  it.each([
    [
      { MAIL_EVENTS_SOURCE: "gmail" },
      /^mail-events-mcp: \[CONFIG_INVALID\] MAIL_EVENTS_SOURCE \(--source\) must be one of/,
    ],
    [
      { MAIL_EVENTS_URL: "ftp://x" },
      /^mail-events-mcp: \[CONFIG_INVALID\] MAIL_EVENTS_URL \(--url\) must be an http/,
    ],
    [
      { MAIL_EVENTS_SMTP_PORT: "70000", MAIL_EVENTS_SOURCE: "local" },
      /^mail-events-mcp: \[CONFIG_INVALID\] MAIL_EVENTS_SMTP_PORT \(--smtp-port\) must be 0\.\.65535/,
    ],
    [
      { MAIL_EVENTS_URL: "" },
      /^mail-events-mcp: \[CONFIG_INVALID\] MAIL_EVENTS_URL \(--url\) is required when MAIL_EVENTS_SOURCE is inboxbase/,
    ],
  ])("refuses to start on a bad setting %j with one line naming the variable", async (bad, message) => {
    const raw = spawnRaw(bad);
    expect(await exited(raw.child, 5_000)).toBe(2);
    expect(raw.stderr().trim().split("\n")).toHaveLength(1);
    expect(raw.stderr()).toMatch(message);
    expect(raw.lines).toEqual([]);
  });
});
