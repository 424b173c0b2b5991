import { spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Deliveries } from "../src/tools/deliveries.js";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { tempDir } from "./helpers/harness.js";
import { DIST_MAIN, requireDist } from "./helpers/smtp-inbox.js";

const until = async (condition: () => boolean, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return condition();
};

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The built server on `fake`, over raw pipes, so the test decides when stdout is read. */
function spawnServer(url: string, stateDir: string) {
  const child = spawn(process.execPath, [DIST_MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_SOURCE: "inboxbase",
      MAIL_EVENTS_URL: url,
      MAIL_EVENTS_STATE_DIR: stateDir,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });
  let out = "";
  const onData = (d: Buffer) => {
    out += d.toString("utf8");
  };
  child.stdout.on("data", onData);
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  return {
    child,
    send,
    received: () => out,
    /** Stops reading stdout: the pipe fills, and the server's writes stall. */
    stopReading() {
      child.stdout.off("data", onData);
      child.stdout.pause();
    },
  };
}

const init = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } },
};
const pull = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "pull_events", arguments: { identity: "big@x.test", limit: 200 } },
});

describe("a cursor moves only once its reply has been handed over", () => {
  it("loses nothing when the server is killed while its reply is still stuck in a full stdout pipe", async () => {
    requireDist();
    const fake = await new FakeInboxbase().start();
    cleanups.push(() => fake.close());
    const stateDir = await tempDir();
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    // 200 events of ~2 KB: a reply of ~500 KB, far more than a pipe holds (64 KiB here).
    for (let i = 0; i < 200; i++) fake.email("big@x.test", { subject: `mail ${i}`, text: "x".repeat(1_900) });

    const first = spawnServer(fake.url, stateDir);
    first.send(init);
    expect(await until(() => first.received().includes('"id":1'))).toBe(true);
    first.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    first.stopReading();
    first.send(pull(2));
    expect(await until(() => fake.requests.some((u) => u.searchParams.get("limit") === "200"))).toBe(true);
    // The reply is being written: bytes are waiting in our end of the pipe, the rest is stuck.
    expect(await until(() => first.child.stdout.readableLength > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // room for a commit that raced ahead of the reply
    first.child.kill("SIGKILL");
    await once(first.child, "exit");

    const second = spawnServer(fake.url, stateDir);
    second.send(init);
    expect(await until(() => second.received().includes('"id":1'))).toBe(true);
    second.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    second.send(pull(2));
    expect(await until(() => second.received().includes('"id":2'))).toBe(true);
    const reply = JSON.parse(
      second
        .received()
        .split("\n")
        .find((l) => l.includes('"id":2')) ?? "{}",
    );
    // The page the dead server never delivered comes again, from its first event.
    expect(reply.result.structuredContent.events).toHaveLength(200);
    expect(reply.result.structuredContent.events[0].seq).toBe(1);
  }, 60_000);
});

describe("Deliveries", () => {
  async function serverWith(result: (n: number) => Record<string, unknown>) {
    const deliveries = new Deliveries();
    const ran: number[] = [];
    const server = new McpServer({ name: "t", version: "0" });
    let n = 0;
    server.registerTool(
      "count",
      { inputSchema: { wait: z.number().default(0) }, outputSchema: { n: z.number() } },
      async ({ wait }, extra) => {
        const mine = ++n;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        deliveries.afterReply(extra.requestId, extra.signal, () => ran.push(mine));
        return { content: [{ type: "text", text: "ok" }], structuredContent: result(mine) };
      },
    );
    const client = new Client({ name: "t", version: "0" });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(deliveries.track(b));
    await client.connect(a);
    cleanups.push(() => client.close());
    return { client, ran, deliveries };
  }

  it("runs the work after a successful reply, never after one that fails output validation", async () => {
    const good = await serverWith((n) => ({ n }));
    await good.client.callTool({ name: "count", arguments: {} });
    expect(good.ran).toEqual([1]);
    const bad = await serverWith(() => ({ n: "not a number" }));
    const result = await bad.client.callTool({ name: "count", arguments: {} });
    expect(result.isError).toBe(true);
    expect(bad.ran).toEqual([]);
    expect(bad.deliveries.waiting).toBe(0);
  });

  it("drops the work of a cancelled call", async () => {
    const s = await serverWith((n) => ({ n }));
    const abort = new AbortController();
    const pending = s.client.callTool({ name: "count", arguments: { wait: 300 } }, undefined, {
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 50);
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 400));
    expect(s.ran).toEqual([]);
    expect(s.deliveries.waiting).toBe(0);
  });
});
