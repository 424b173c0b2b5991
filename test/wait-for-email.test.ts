import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, textOf } from "./helpers/harness.js";
import { until } from "./helpers/until.js";

type Found = {
  found: boolean;
  email?: { id: string; seq?: number; subject: string; codes: string[]; text: string; from: string };
  cursor: number | null;
  waitedMs: number;
};

let h: Harness;
afterEach(async () => h?.close());

const later = (ms: number, fn: () => void) => setTimeout(fn, ms);

describe("wait_for_email", () => {
  it("returns the code from an email that arrives during the wait", async () => {
    h = await startHarness();
    h.fake.ensure("me@x.test");
    // The wait outlasts this test's own timeout: an answer at all means it woke on arrival.
    const pending = h.call("wait_for_email", { identity: "me@x.test", timeoutSeconds: 60 });
    later(150, () =>
      h.fake.email("me@x.test", { from: "noreply@shop.test", subject: "Your code is 847293" }),
    );
    const result = await pending;
    const out = result.structuredContent as Found;
    expect(out.found).toBe(true);
    expect(out.email?.codes).toContain("847293");
    expect(textOf(result).split("\n")[0]).toContain("847293");
  });

  it("never hands back mail older than maxAgeSeconds, even on the first wait", async () => {
    h = await startHarness();
    const hourAgo = Date.now() - 3_600_000;
    h.fake.email("me@x.test", { subject: "Your code is 111111" }, { ts: hourAgo });
    const out = await h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 0.3 });
    expect(out.found).toBe(false);
    const fresh = await h.ok<Found>("wait_for_email", {
      identity: "me@x.test",
      timeoutSeconds: 0.3,
      maxAgeSeconds: 7_200,
    });
    expect(fresh.email?.codes).toEqual(["111111"]);
  });

  it("returns the newest when several matching emails are waiting, then the others, never one twice", async () => {
    h = await startHarness();
    h.fake.email("me@x.test", { subject: "code 111111" });
    h.fake.email("me@x.test", { subject: "code 222222" });
    h.fake.email("me@x.test", { subject: "code 333333" });
    const codes = [];
    for (let i = 0; i < 3; i++) {
      codes.push(
        (await h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 1 })).email?.codes,
      );
    }
    expect(codes).toEqual([["333333"], ["222222"], ["111111"]]);
    const fourth = await h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 0.3 });
    expect(fourth.found).toBe(false);
    h.fake.email("me@x.test", { subject: "code 444444" });
    const fifth = await h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 1 });
    expect(fifth.email?.codes).toEqual(["444444"]);
  });

  it("filters by sender, subject and body, with /regex/ forms", async () => {
    h = await startHarness();
    h.fake.email("me@x.test", { from: "Alice <alice@a.test>", subject: "Hello", text: "nothing here" });
    h.fake.email("me@x.test", {
      from: "Bob <bob@b.test>",
      subject: "Login code",
      text: "use 123456 to sign in",
    });
    h.fake.email("me@x.test", { from: "Carol <carol@c.test>", subject: "Weekly digest", text: "news" });
    const byFrom = await h.ok<Found>("wait_for_email", {
      identity: "me@x.test",
      from: "BOB",
      timeoutSeconds: 0.5,
    });
    expect(byFrom.email?.from).toContain("bob@b.test");
    const byRegex = await h.ok<Found>("wait_for_email", {
      identity: "me@x.test",
      subject: "/^hel+o$/i",
      timeoutSeconds: 0.5,
    });
    expect(byRegex.email?.from).toContain("alice");
    const byBody = await h.ok<Found>("wait_for_email", {
      identity: "me@x.test",
      contains: "news",
      timeoutSeconds: 0.5,
    });
    expect(byBody.email?.subject).toBe("Weekly digest");
  });

  it("ignores events that are not received mail", async () => {
    h = await startHarness();
    h.fake.append("me@x.test", { type: "email.sent", data: { subject: "code 999999" } });
    h.fake.append("me@x.test", { type: "email.bounced", data: { subject: "code 888888" } });
    const out = await h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 0.3 });
    expect(out.found).toBe(false);
  });

  it("times out as a normal result that tells the agent to call again", async () => {
    h = await startHarness();
    h.fake.ensure("me@x.test");
    const result = await h.call("wait_for_email", { identity: "me@x.test", timeoutSeconds: 0.5 });
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as Found).found).toBe(false);
    expect(textOf(result)).toMatch(/call wait_for_email again/i);
  });

  it("chains long-polls until the deadline", async () => {
    h = await startHarness({ deps: { maxPollMs: 200 } });
    h.fake.ensure("me@x.test");
    const pending = h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 10 });
    later(900, () => h.fake.email("me@x.test", { subject: "code 445566" }));
    const out = await pending;
    expect(out.email?.codes).toEqual(["445566"]);
    const polls = h.fake.requests.filter((u) => Number(u.searchParams.get("timeoutMs")) > 0);
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...polls.map((u) => Number(u.searchParams.get("timeoutMs"))))).toBeLessThanOrEqual(200);
  });

  it("finds 'now' on a 100k-event log in at most 40 upstream requests", async () => {
    h = await startHarness();
    const log = h.fake.ensure("big@x.test");
    const old = Date.now() - 86_400_000;
    for (let seq = 1; seq <= 100_000; seq++) {
      log.push({
        seq,
        id: `evt_${seq}`,
        type: "email.received",
        ts: old + seq,
        data: { subject: `old ${seq}` },
      });
    }
    h.fake.email("big@x.test", { subject: "code 736251" });
    const before = h.fake.requestCount();
    const out = await h.ok<Found>("wait_for_email", { identity: "big@x.test", timeoutSeconds: 5 });
    expect(out.email?.codes).toEqual(["736251"]);
    const requests = h.fake.requestCount() - before;
    expect(requests).toBeLessThanOrEqual(40);
    console.info(`first wait on a 100k-event log: ${requests} upstream requests`);
  });

  it("sends progress notifications to a client that asks for them", async () => {
    h = await startHarness({ deps: { progressEveryMs: 100 } });
    h.fake.ensure("me@x.test");
    const progress: { progress: number; total?: number | undefined }[] = [];
    await h.client.callTool(
      { name: "wait_for_email", arguments: { identity: "me@x.test", timeoutSeconds: 0.6 } },
      undefined,
      {
        onprogress: (p) => progress.push(p),
      },
    );
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)?.total).toBe(1);
  });

  it("closes the upstream socket at once when the call is cancelled", async () => {
    h = await startHarness();
    h.fake.ensure("me@x.test");
    const abort = new AbortController();
    const pending = h.client.callTool(
      { name: "wait_for_email", arguments: { identity: "me@x.test", timeoutSeconds: 60 } },
      undefined,
      { signal: abort.signal },
    );
    await until(() => h.fake.waiting > 0);
    abort.abort();
    await expect(pending).rejects.toThrow();
    await until(() => h.fake.closedRequests > 0);
    expect(h.fake.closedRequests).toBeGreaterThanOrEqual(1);
    // The server is still there for the next call.
    h.fake.email("me@x.test", { subject: "code 102938" });
    expect(
      (await h.ok<Found>("wait_for_email", { identity: "me@x.test", timeoutSeconds: 2 })).email?.codes,
    ).toEqual(["102938"]);
  });
});

describe("wait_for_email beside a pull_events loop", () => {
  it("moves no cursor, so a wait never makes the loop miss events", async () => {
    h = await startHarness();
    h.fake.email("me@x.test", { subject: "first" });
    await h.ok("pull_events", { identity: "me@x.test" });
    h.fake.email("me@x.test", { subject: "reply from a customer" });
    h.fake.email("me@x.test", { subject: "Your code is 246810" });
    const wait = await h.ok<Found>("wait_for_email", {
      identity: "me@x.test",
      subject: "code",
      timeoutSeconds: 1,
    });
    expect(wait.email?.codes).toEqual(["246810"]);
    const loop = await h.ok<{ events: { email?: { subject?: string } }[] }>("pull_events", {
      identity: "me@x.test",
    });
    expect(loop.events.map((e) => e.email?.subject)).toEqual([
      "reply from a customer",
      "Your code is 246810",
    ]);
    const cursors = await h.ok<{ cursor: number }>("get_cursor", { identity: "me@x.test" });
    expect(cursors).toMatchObject({ cursor: 3 });
  });
});
