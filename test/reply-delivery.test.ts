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
import { until } from "./helpers/until.js";

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

describe("a cursor moves only once its reply has been handed over", () => {
  it("loses nothing when the server is killed while its replies are still stuck in a full stdout pipe", async () => {
    requireDist();
    const fake = await new FakeInboxbase().start();
    cleanups.push(() => fake.close());
    const stateDir = await tempDir();
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    // Five identities of 200 events of ~1 KB each as a page carries them: five replies of
    // ~200 KB, far more than a pipe and our read buffer hold (64 + 16 KiB).
    const identities = Array.from({ length: 5 }, (_, i) => `big${i}@x.test`);
    const words = (n: number, i: number) =>
      Array.from({ length: n }, (_, k) => `w${(i * 31 + k * 7) % 997}`).join(" ");
    for (const identity of identities) {
      for (let i = 0; i < 200; i++) {
        fake.email(identity, {
          subject: `mail ${i} ${words(40, i)}`,
          text: words(400, i),
          vendorNote: words(40, i + 1),
          vendorTag: words(30, i + 2),
        });
      }
    }
    const pull = (id: number, identity: string) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "pull_events", arguments: { identity, limit: 200 } },
    });

    const first = spawnServer(fake.url, stateDir);
    first.send(init);
    await until(() => first.received().includes('"id":1'));
    first.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    first.stopReading();
    for (const [i, identity] of identities.entries()) first.send(pull(10 + i, identity));
    await until(() => fake.requests.filter((u) => u.searchParams.get("limit") === "200").length === 5);
    // Replies are being written until our end is full: then the pipe fills and the server's
    // writes stall, so whatever it would commit ahead of a reply it has had the chance to.
    const out = first.child.stdout;
    await until(() => out.readableLength >= out.readableHighWaterMark);
    first.child.kill("SIGKILL");
    // What the client did receive: everything left in the pipe is still readable.
    const chunks: Buffer[] = [];
    first.child.stdout.on("data", (d: Buffer) => chunks.push(d));
    first.child.stdout.resume();
    await once(first.child.stdout, "end");
    const answered = new Set(
      Buffer.concat(chunks)
        .toString("utf8")
        .split("\n")
        .slice(0, -1) // only whole lines: a reply cut off by the kill never reached the client
        .filter((line) => line.startsWith("{"))
        .map((line) => (JSON.parse(line) as { id?: number }).id),
    );
    const stuck = identities.filter((_, i) => !answered.has(10 + i));
    expect(stuck.length).toBeGreaterThan(0); // the premise: some replies never got out

    const second = spawnServer(fake.url, stateDir);
    second.send(init);
    await until(() => second.received().includes('"id":1'));
    second.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    for (const [i, identity] of stuck.entries()) second.send(pull(20 + i, identity));
    await until(() => stuck.every((_, i) => second.received().includes(`"id":${20 + i}}`)));
    for (const [i] of stuck.entries()) {
      const line =
        second
          .received()
          .split("\n")
          .find((l) => l.includes(`"id":${20 + i}}`)) ?? "{}";
      const events = (JSON.parse(line) as { result: { structuredContent: { events: { seq: number }[] } } })
        .result.structuredContent.events;
      // A page the dead server never delivered comes again, from its first event.
      expect(events).toHaveLength(200);
      expect(events[0]?.seq).toBe(1);
    }
  }, 60_000);
});

describe("Deliveries", () => {
  async function serverWith(result: (n: number) => Record<string, unknown>) {
    const deliveries = new Deliveries();
    const ran: number[] = [];
    const undone: number[] = [];
    const handled: number[] = [];
    const server = new McpServer({ name: "t", version: "0" });
    let n = 0;
    server.registerTool(
      "count",
      { inputSchema: { wait: z.number().default(0) }, outputSchema: { n: z.number() } },
      async ({ wait }, extra) => {
        const mine = ++n;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        deliveries.afterReply(
          extra.requestId,
          extra.signal,
          () => ran.push(mine),
          () => undone.push(mine),
        );
        handled.push(mine);
        return { content: [{ type: "text", text: "ok" }], structuredContent: result(mine) };
      },
    );
    const client = new Client({ name: "t", version: "0" });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(deliveries.track(b));
    await client.connect(a);
    cleanups.push(() => client.close());
    return { client, ran, undone, handled, deliveries };
  }

  it("runs the work after a successful reply, never after one that fails output validation (it undoes it then)", async () => {
    const good = await serverWith((n) => ({ n }));
    await good.client.callTool({ name: "count", arguments: {} });
    expect(good.ran).toEqual([1]);
    expect(good.undone).toEqual([]);
    const bad = await serverWith(() => ({ n: "not a number" }));
    const result = await bad.client.callTool({ name: "count", arguments: {} });
    expect(result.isError).toBe(true);
    expect(bad.ran).toEqual([]);
    expect(bad.undone).toEqual([1]);
    expect(bad.deliveries.waiting).toBe(0);
  });

  it("drops the work of a cancelled call, and undoes it", async () => {
    const s = await serverWith((n) => ({ n }));
    const abort = new AbortController();
    const pending = s.client.callTool({ name: "count", arguments: { wait: 300 } }, undefined, {
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 50);
    await expect(pending).rejects.toThrow();
    // The cancelled handler finishes first; a later call's reply comes after all it did.
    await until(() => s.handled.length === 1);
    await s.client.callTool({ name: "count", arguments: {} });
    expect(s.ran).toEqual([2]);
    expect(s.undone).toEqual([1]);
    expect(s.deliveries.waiting).toBe(0);
  });
});
