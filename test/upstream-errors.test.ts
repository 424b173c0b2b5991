import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../src/log.js";
import { HttpClient } from "../src/sources/http-client.js";
import { InboxbaseSource } from "../src/sources/inboxbase.js";
import { MailsSource } from "../src/sources/mails.js";
import { MoltedSource } from "../src/sources/molted.js";
import { HostileUpstream } from "./fakes/hostile-upstream.js";
import { type Harness, startHarness, textOf } from "./helpers/harness.js";
import { memoryLogger } from "./helpers/smtp-inbox.js";

let h: Harness;
afterEach(async () => h?.close());

const pull = (args: Record<string, unknown> = {}) => h.call("pull_events", { identity: "a@x.test", ...args });

describe("upstream faults", () => {
  it("401 tells the user to check MAIL_EVENTS_TOKEN, and the token never appears in the result", async () => {
    h = await startHarness({ token: "wrong-secret" });
    h.fake.token = "right";
    h.fake.ensure("a@x.test");
    const result = await pull();
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[UPSTREAM_AUTH\].*MAIL_EVENTS_TOKEN/);
    expect(textOf(result)).not.toContain("wrong-secret");
    expect(h.fake.authHeaders.at(-1)).toBe("Bearer wrong-secret");
  });

  it("404 names the unknown identity", async () => {
    h = await startHarness();
    const result = await pull({ identity: "ghost@x.test" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[UPSTREAM_UNKNOWN_IDENTITY\].*"ghost@x\.test"/);
  });

  it("429 is retried after Retry-After, then succeeds", async () => {
    h = await startHarness();
    h.fake.email("a@x.test", { subject: "hi" });
    h.fake.faults.push({ kind: "status", status: 429, retryAfter: "1" });
    const started = Date.now();
    const result = await pull();
    expect(result.isError).toBeFalsy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(h.fake.requestCount()).toBe(2);
  });

  it("500 and a reset connection are retried with backoff, then succeed", async () => {
    h = await startHarness();
    h.fake.email("a@x.test", { subject: "hi" });
    h.fake.faults.push({ kind: "status", status: 500 }, { kind: "reset" }, { kind: "status", status: 503 });
    const result = await pull();
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { events: unknown[] }).events).toHaveLength(1);
    expect(h.fake.requestCount()).toBe(4);
  });

  it("malformed JSON is a clear tool error, and the next call works", async () => {
    h = await startHarness();
    h.fake.email("a@x.test", { subject: "hi" });
    h.fake.faults.push({ kind: "malformed" });
    const bad = await pull();
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/^\[UPSTREAM_BAD_PAYLOAD\]/);
    expect((await pull()).isError).toBeFalsy();
  });

  it("a page of the wrong shape is a clear tool error", async () => {
    h = await startHarness();
    h.fake.faults.push({ kind: "status", status: 200, body: JSON.stringify({ events: "nope" }) });
    const bad = await pull();
    expect(textOf(bad)).toMatch(/^\[UPSTREAM_BAD_PAYLOAD\].*events/);
  });

  it("an upstream that never answers fails the call within the window plus slack", async () => {
    h = await startHarness({ http: { slackMs: 300 } });
    h.fake.ensure("a@x.test");
    h.fake.faults.push({ kind: "hang" }, { kind: "hang" }, { kind: "hang" }, { kind: "hang" });
    const wait = await h.call("wait_for_email", { identity: "a@x.test", timeoutSeconds: 1 });
    expect(wait.isError).toBe(true);
    expect(textOf(wait)).toMatch(/^\[UPSTREAM_TIMEOUT\]/);
    h.fake.faults.length = 0;
    expect((await pull()).isError).toBeFalsy();
  });

  it("an upstream that is down is a network error naming MAIL_EVENTS_URL", async () => {
    h = await startHarness();
    await h.fake.close();
    const result = await h.call("wait_for_email", { identity: "a@x.test", timeoutSeconds: 0.5 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[UPSTREAM_NETWORK\].*MAIL_EVENTS_URL/);
  });
});

describe("the token never reaches the agent, whatever upstream echoes", () => {
  const TOKEN = "tok_live_4f9a8b7c6d5e";
  const SOURCES = {
    inboxbase: (url: string, http: HttpClient, _log: Logger) => new InboxbaseSource({ url, http }),
    mails: (url: string, http: HttpClient, log: Logger) => new MailsSource({ url, http, log }),
    molted: (url: string, http: HttpClient, log: Logger) => new MoltedSource({ url, http, log }),
  } as const;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function echoing(kind: keyof typeof SOURCES) {
    const upstream = await new HostileUpstream().start();
    const http = new HttpClient({ token: TOKEN, slackMs: 1_000 });
    const log = memoryLogger();
    const source = SOURCES[kind](upstream.url, http, log);
    const server = await startHarness({ deps: { source } });
    closers.push(async () => {
      await server.close();
      await source.close();
      await http.close();
      await upstream.close();
    });
    /** Every text a tool call produced, structured content included. */
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await server.call(name, { identity: "a@x.test", ...args });
      return { result, seen: `${textOf(result)}\n${JSON.stringify(result.structuredContent ?? {})}` };
    };
    return { upstream, log, call };
  }

  const leaks = (text: string) => text.includes(TOKEN) || text.includes("4f9a8b7c6d5e");

  for (const kind of Object.keys(SOURCES) as (keyof typeof SOURCES)[]) {
    for (const status of [401, 403, 429, 500]) {
      for (const [shape, body, contentType] of [
        ["JSON", '{"error":"rejected {auth}","message":"you sent {auth}"}', "application/json"],
        ["text", "<html>Authorization: {auth} is not valid</html>", "text/html"],
      ] as const) {
        it(`${kind}: HTTP ${status} with a ${shape} body echoing the Authorization header`, async () => {
          const { upstream, log, call } = await echoing(kind);
          upstream.behaviour = { kind: "status", status, body, contentType };
          const { result, seen } = await call("wait_for_email", { timeoutSeconds: 0.5 });
          expect(result.isError).toBe(true);
          expect(seen).toMatch(/\[redacted\]/);
          expect(leaks(seen)).toBe(false);
          expect(leaks(log.lines.join("\n"))).toBe(false);
        });
      }
    }
  }

  for (const kind of ["mails", "molted"] as const) {
    it(`${kind}: malformed frames, ids and events echoing the token are redacted in results and logs`, async () => {
      const { upstream, log, call } = await echoing(kind);
      upstream.behaviour = {
        kind: "sse",
        body: [
          "data: {auth} this is not json\n\n",
          'id: {auth}\ndata: {"broken": {auth}}\n\n',
          `id: evt_1\nevent: message.received\ndata: ${JSON.stringify({ type: "inbound.routed", subject: "key {auth}", from: "x@y.z", received_at: new Date().toISOString() })}\n\n`,
        ].join(""),
      };
      const { result, seen } = await call("pull_events", { since: 0, commit: false });
      expect(result.isError).toBeFalsy();
      expect(seen).toContain("key [redacted]");
      expect(leaks(seen)).toBe(false);
      expect(log.lines.length).toBeGreaterThanOrEqual(2);
      expect(leaks(log.lines.join("\n"))).toBe(false);
    });

    it(`${kind}: a content type echoing the token is redacted`, async () => {
      const { upstream, call } = await echoing(kind);
      upstream.behaviour = { kind: "status", status: 200, body: "x", contentType: "text/{auth}" };
      const { result, seen } = await call("pull_events", { since: 0, commit: false });
      expect(result.isError).toBe(true);
      expect(leaks(seen)).toBe(false);
    });
  }
});
