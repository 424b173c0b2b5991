import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import { silentLogger } from "../src/log.js";
import { createServer } from "../src/server.js";
import { HttpClient } from "../src/sources/http-client.js";
import { MailsSource } from "../src/sources/mails.js";
import { MoltedSource } from "../src/sources/molted.js";
import type { Source } from "../src/sources/source.js";
import { FakeMails } from "./fakes/sse-mails.js";
import { FakeMolted } from "./fakes/sse-molted.js";
import type { SseServer } from "./fakes/sse-server.js";

interface Upstream {
  fake: SseServer;
  identity: string;
  source: (http: HttpClient) => Source;
  /** An email arriving upstream, in the dialect's own shape. */
  email(subject: string, text?: string): void;
  /** Any other event (not an email), to exercise pull_events. */
  other(n: number): void;
}

const tuning = {};

const upstreams: Record<string, () => Promise<Upstream>> = {
  async mails() {
    // Short bounded connections, so every wait below spans several reconnects.
    const fake = await new FakeMails({
      token: "t",
      windowMs: 300,
      keepaliveMs: 50,
      splitFrames: true,
    }).start();
    const identity = "agent@mails.test";
    return {
      fake,
      identity,
      source: (http) => new MailsSource({ url: fake.url, http, tuning }),
      email: (subject, text) => fake.add(identity, { subject, ...(text ? { text } : {}) }),
      other: (n) => fake.add(identity, { subject: `sent ${n}` }, "message.sent"),
    };
  },
  async molted() {
    const fake = await new FakeMolted({
      token: "t",
      duplicateRate: 0.2,
      idIn: "eventId",
      splitFrames: true,
    }).start();
    const identity = "tenant_abc";
    return {
      fake,
      identity,
      source: (http) => new MoltedSource({ url: fake.url, http, tuning }),
      email: (subject, text) =>
        fake.add(identity, "inbound.classified", {
          subject,
          intent: "interested",
          contactEmail: "noreply@shop.test",
          ...(text ? { text } : {}),
        }),
      other: (n) => fake.add(identity, "delivery.sent", { n }),
    };
  },
};

interface Found {
  found: boolean;
  email?: { id: string; subject: string; codes: string[]; from: string };
  cursor: string | number | null;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The server as main.ts builds it, a real CursorStore in a temp dir, a real SDK Client. */
async function connect(upstream: Upstream, stateDir: string) {
  const http = new HttpClient({ token: "t", slackMs: 1_000, backoffMs: 10, maxBackoffMs: 50 });
  const cursors = await FileCursorStore.open(stateDir, silentLogger);
  const source = upstream.source(http);
  const { connect, cleanup } = createServer({ source, cursors, defaultIdentity: upstream.identity });
  const client = new Client({ name: "test", version: "0" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await connect(b);
  await client.connect(a);
  const close = async () => {
    await client.close();
    await cleanup();
    await source.close();
    await cursors.close();
    await http.close();
  };
  cleanups.push(close);
  const ok = async <T>(name: string, args: Record<string, unknown> = {}): Promise<T> => {
    const result = (await client.callTool({ name, arguments: args }, undefined, {
      timeout: 30_000,
    })) as CallToolResult;
    if (result.isError) throw new Error(result.content.map((c) => (c.type === "text" ? c.text : "")).join());
    return result.structuredContent as T;
  };
  return { ok, close };
}

for (const kind of Object.keys(upstreams)) {
  describe(`${kind} through the MCP tools`, () => {
    async function start() {
      const upstream = await (upstreams[kind] as () => Promise<Upstream>)();
      const stateDir = await mkdtemp(join(tmpdir(), `sse-tools-${kind}-`));
      cleanups.push(async () => {
        await upstream.fake.close();
        await rm(stateDir, { recursive: true, force: true });
      });
      return { upstream, stateDir, ...(await connect(upstream, stateDir)) };
    }

    it("pull_events loops see every event once, across a restart", async () => {
      const { upstream, stateDir, ok, close } = await start();
      type Page = {
        events: { id: string; data: Record<string, unknown> }[];
        cursor: unknown;
        hasMore: boolean;
      };
      // The first pull fixes "now"; everything after it is delivered.
      const first = await ok<Page>("pull_events", { timeoutMs: 200 });
      expect(first.events).toEqual([]);
      const producing = (async () => {
        for (let n = 1; n <= 40; n++) {
          upstream.other(n);
          await sleep(2);
        }
      })();
      const seen: string[] = [];
      let pulls = 0;
      for (; pulls < 100 && seen.length < 25; pulls++) {
        const page = await ok<Page>("pull_events", { limit: 7, timeoutMs: 300 });
        seen.push(...page.events.map((e) => e.id));
      }
      await producing;
      // A restart (new server, same state dir) continues from the stored cursor.
      await close();
      const again = await connect(upstream, stateDir);
      for (; pulls < 200 && seen.length < 40; pulls++) {
        const page = await again.ok<Page>("pull_events", { limit: 7, timeoutMs: 300 });
        seen.push(...page.events.map((e) => e.id));
      }
      expect(seen).toHaveLength(40);
      expect(new Set(seen).size).toBe(40);
      const tail = await again.ok<Page>("pull_events", { timeoutMs: 200 });
      expect(tail.events).toEqual([]);
    });

    it("wait_for_email returns the code that lands during the wait, and never the same email twice", async () => {
      const { upstream, ok } = await start();
      setTimeout(() => upstream.email("Your verification code", "Your code is 482913."), 400);
      // The wait outlasts this test's own timeout: an answer at all means it woke on arrival.
      const found = await ok<Found>("wait_for_email", { timeoutSeconds: 60 });
      expect(found.found).toBe(true);
      expect(found.email?.codes).toContain("482913");
      const again = await ok<Found>("wait_for_email", { timeoutSeconds: 0.8 });
      expect(again.found).toBe(false);
      setTimeout(() => upstream.email("Second code", "Your code is 771122."), 200);
      const next = await ok<Found>("wait_for_email", { timeoutSeconds: 10 });
      expect(next.email?.codes).toContain("771122");
      expect(next.email?.id).not.toBe(found.email?.id);
    });

    if (kind === "mails") {
      it("wait_for_email returns the newest of several waiting codes, never a stale one", async () => {
        const { upstream, ok } = await start();
        const fake = upstream.fake as FakeMails;
        fake.add(
          upstream.identity,
          { subject: "old", text: "Your code is 999999" },
          "message.received",
          Date.now() - 3_600_000,
        );
        for (const code of ["111111", "222222", "333333"]) upstream.email("code", `Your code is ${code}`);
        const first = await ok<Found>("wait_for_email", { timeoutSeconds: 5 });
        expect(first.email?.codes).toEqual(["333333"]);
        // Replays by time (since = notBefore) only: the hour-old mail was never sent.
        expect(fake.connections[0]?.url.searchParams.get("since")).not.toBeNull();
        // The others stay for later waits, newest first; the hour-old one never comes back.
        const later = [];
        for (let i = 0; i < 3; i++)
          later.push((await ok<Found>("wait_for_email", { timeoutSeconds: 0.5 })).email?.codes);
        expect(later).toEqual([["222222"], ["111111"], undefined]);
      });
    }

    it.runIf(kind === "mails")(
      "takes a 300-character event id in its stride: a valid result, and a cursor that moves",
      async () => {
        const { upstream, ok } = await start();
        const stored = (upstream.fake as FakeMails).add(upstream.identity, { subject: "long id" });
        stored.id = `evt_${"x".repeat(300)}`;
        const since = new Date(Date.now() - 60_000).toISOString();
        const page = await ok<{ events: { id: string }[]; cursor: string }>("pull_events", { since });
        expect(page.events.map((e) => e.id)).toEqual([stored.id]);
        expect(page.cursor).toBe(stored.id);
        upstream.email("after the long one");
        const next = await ok<{ events: { email?: { subject?: string } }[] }>("pull_events", {});
        expect(next.events.map((e) => e.email?.subject)).toEqual(["after the long one"]);
      },
    );

    it("wait_for_email times out as a normal result after spanning several connections", async () => {
      const { upstream, ok } = await start();
      const started = Date.now();
      const out = await ok<Found>("wait_for_email", { timeoutSeconds: 1.2, subject: "never" });
      expect(out.found).toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_100);
      if (kind === "mails") expect(upstream.fake.connections.length).toBeGreaterThanOrEqual(3);
    });
  });
}
