import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, textOf } from "./helpers/harness.js";

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
    const started = Date.now();
    const wait = await h.call("wait_for_email", { identity: "a@x.test", timeoutSeconds: 1 });
    expect(wait.isError).toBe(true);
    expect(textOf(wait)).toMatch(/^\[UPSTREAM_TIMEOUT\]/);
    expect(Date.now() - started).toBeLessThan(10_000);
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
