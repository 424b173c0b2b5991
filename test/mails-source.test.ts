import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { Logger } from "../src/log.js";
import type { NormalizedEvent } from "../src/mail/event.js";
import { MailsSource } from "../src/sources/mails.js";
import type { Position } from "../src/sources/source.js";
import { FakeMails } from "./fakes/sse-mails.js";
import { sseSourceHarness } from "./helpers/sse-source-harness.js";
import { until } from "./helpers/until.js";

const BOX = "agent@mails.test";
const { cleanups, setup, pullReq, drain } = sseSourceHarness({
  Fake: FakeMails,
  Source: MailsSource,
  identity: BOX,
  maxPulls: 1_000,
});

const subjects = (events: NormalizedEvent[]) => events.map((e) => e.email?.subject);

describe("mails source", () => {
  for (const ids of [true, false]) {
    it(`loses and repeats nothing across 50 forced reconnects (${ids ? "Last-Event-ID" : "since=received_at"})`, async () => {
      // Without ids a resume replays the whole last second, so the server must close by time
      // (as mails does), not after a number of events.
      const { fake, source } = await setup(
        ids
          ? { ids, closeAfterEvents: 2, splitFrames: true, windowMs: 300 }
          : { ids, splitFrames: true, windowMs: 25 },
      );
      const start = await source.seek({
        identity: BOX,
        notBefore: Date.now() - 1_000,
        after: null,
        signal: new AbortController().signal,
      });
      const producing = (async () => {
        for (let i = 1; i <= 100; i++) {
          fake.add(BOX, { subject: `n${i}` });
          // Time-bounded windows: pace the events to the reconnects so there are ≥ 50 of them.
          if (ids) await sleep(1);
          else await until(() => fake.connections.length >= i / 2 + 1, 5_000);
        }
      })();
      const { events } = await drain(source, 100, start, { limit: 7 });
      await producing;
      expect(subjects(events)).toEqual(Array.from({ length: 100 }, (_, i) => `n${i + 1}`));
      expect(fake.connections.length).toBeGreaterThanOrEqual(50);
      const resumed = fake.connections.slice(1);
      if (ids) expect(resumed.every((c) => typeof c.headers["last-event-id"] === "string")).toBe(true);
      else expect(resumed.every((c) => c.url.searchParams.get("since") !== null)).toBe(true);
    });
  }

  it("keeps waiting across the server's bounded connections until the window ends", async () => {
    const { fake, source } = await setup({ windowMs: 150, keepaliveMs: 20 });
    // Connections that end young and empty are reopened after the retry floor (≥ 250 ms).
    setTimeout(() => fake.add(BOX, { subject: "late" }), 1_200);
    const started = Date.now();
    const page = await source.pull(
      pullReq(source.parseCursor(new Date().toISOString()), { timeoutMs: 4_000 }),
    );
    expect(subjects(page.events)).toEqual(["late"]);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(fake.connections.length).toBeGreaterThanOrEqual(3);
  });

  it("returns what is waiting at once with timeoutMs 0, and an empty page when nothing is", async () => {
    const { fake, source } = await setup({ windowMs: 5_000 });
    const from = source.parseCursor(0);
    for (let i = 0; i < 5; i++) fake.add(BOX, { subject: `b${i}` });
    let started = Date.now();
    const page = await source.pull(pullReq(from, { timeoutMs: 0, limit: 3 }));
    expect(subjects(page.events)).toEqual(["b0", "b1", "b2"]);
    expect(page.hasMore).toBe(true);
    const rest = await source.pull(pullReq(page.position, { timeoutMs: 0 }));
    expect(subjects(rest.events)).toEqual(["b3", "b4"]);
    started = Date.now();
    const empty = await source.pull(pullReq(rest.position, { timeoutMs: 0 }));
    expect(empty.events).toEqual([]);
    expect(empty.hasMore).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    // The three pulls continued one stream: one connection.
    expect(fake.connections.length).toBe(1);
  });

  it("a pull on the reused stream gets the email upstream took just before it (timeoutMs 0), and a long-poll on it waits for the next one", async () => {
    const { fake, source } = await setup({ windowMs: 5_000, splitFrames: true });
    fake.add(BOX, { subject: "first" });
    const first = await source.pull(pullReq(source.parseCursor(0), { timeoutMs: 0 }));
    expect(subjects(first.events)).toEqual(["first"]);
    // Upstream has it before the call; it is still crossing the open socket as the call starts.
    fake.add(BOX, { subject: "next" });
    const next = await source.pull(pullReq(first.position, { timeoutMs: 0 }));
    expect(subjects(next.events)).toEqual(["next"]);
    setTimeout(() => fake.add(BOX, { subject: "later" }), 300);
    const later = await source.pull(pullReq(next.position, { timeoutMs: 5_000 }));
    expect(subjects(later.events)).toEqual(["later"]);
    // All three continued one stream.
    expect(fake.connections.length).toBe(1);
  });

  it("drops replayed ids after a restart, from the stored position alone", async () => {
    const { fake, source, make } = await setup({ ids: false, windowMs: 300 });
    const t = Date.now();
    // Same second: a since=received_at resume replays all three.
    for (const s of ["a", "b", "c"]) fake.add(BOX, { subject: s }, "message.received", t);
    const first = await drain(source, 2, source.parseCursor(t - 5_000), { limit: 2 });
    expect(subjects(first.events)).toEqual(["a", "b"]);
    await source.close();
    const stored = JSON.parse(JSON.stringify(first.position)) as Position;
    const restarted = make();
    cleanups.push(() => restarted.close());
    const rest = await drain(restarted, 1, stored);
    expect(subjects(rest.events)).toEqual(["c"]);
    const again = await restarted.pull(pullReq(rest.position, { timeoutMs: 100 }));
    expect(again.events).toEqual([]);
  });

  it("filters types upstream, a wildcard sent as the documented types it covers", async () => {
    const { fake, source } = await setup({ windowMs: 2_000 });
    const from = source.parseCursor(0);
    fake.add(BOX, { subject: "r1" }, "message.received");
    fake.add(BOX, { subject: "s1" }, "message.sent");
    fake.add(BOX, { subject: "b1" }, "message.bounced");
    const exact = await source.pull(pullReq(from, { types: ["message.bounced"], timeoutMs: 0 }));
    expect(subjects(exact.events)).toEqual(["b1"]);
    expect(fake.connections.at(-1)?.url.searchParams.get("types")).toBe("message.bounced");
    const wild = await source.pull(pullReq(from, { types: ["message.s*", "message.bounced"], timeoutMs: 0 }));
    expect(subjects(wild.events)).toEqual(["s1", "b1"]);
    expect(fake.connections.at(-1)?.url.searchParams.get("types")).toBe("message.bounced,message.sent");
  });

  it("a first pull with no cursor starts at the oldest event upstream keeps, not at now", async () => {
    const { fake, source } = await setup({ windowMs: 2_000 });
    fake.add(BOX, { subject: "last week" }, "message.received", Date.now() - 7 * 86_400_000);
    fake.add(BOX, { subject: "yesterday" }, "message.received", Date.now() - 86_400_000);
    const page = await source.pull(pullReq(null, { timeoutMs: 0 }));
    expect(subjects(page.events)).toEqual(["last week", "yesterday"]);
    expect(page.startedLive).toBeUndefined();
    expect(fake.connections[0]?.url.searchParams.get("since")).toBe("1970-01-01T00:00:00.000Z");
  });

  it("normalizes the documented frame", async () => {
    const { fake, source } = await setup();
    const from = source.parseCursor(0);
    fake.add(BOX, { subject: "Your code is 847293", labels: ["code"], has_attachments: true });
    const [event] = (await source.pull(pullReq(from, { timeoutMs: 0 }))).events;
    expect(event).toMatchObject({
      id: "evt_1",
      type: "message.received",
      identity: BOX,
      email: {
        from: "sender@shop.test",
        to: [BOX],
        subject: "Your code is 847293",
        messageId: "em_1",
        threadId: "th_1",
        labels: ["code"],
        hasAttachments: true,
      },
      data: { email_id: "em_1", mailbox: BOX },
    });
    expect(event?.ts).toBe(Date.parse(fake.log[0]?.receivedAt ?? ""));
  });

  it("skips a malformed data line with a warning and goes on", async () => {
    const warnings: string[] = [];
    const log: Logger = { info() {}, error() {}, warn: (m) => warnings.push(m) };
    const { fake, source } = await setup({}, log);
    const from = source.parseCursor(0);
    fake.add(BOX, { subject: "before" });
    fake.addMalformed(BOX);
    fake.add(BOX, { subject: "after" });
    const { events } = await drain(source, 2, from);
    expect(subjects(events)).toEqual(["before", "after"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not a JSON object/);
  });

  it("fails with UPSTREAM_AUTH on 401", async () => {
    const { fake, source } = await setup();
    fake.token = "other";
    await expect(source.pull(pullReq(null))).rejects.toMatchObject({ code: "UPSTREAM_AUTH" });
  });

  it("retries 503 and reconnects", async () => {
    const { fake, source } = await setup();
    fake.failNext.push({ status: 503 }, { status: 503 });
    fake.add(BOX, { subject: "x" });
    const page = await source.pull(pullReq(source.parseCursor(0), { timeoutMs: 2_000 }));
    expect(subjects(page.events)).toEqual(["x"]);
  });

  it("closes the socket when the call is cancelled", async () => {
    const { fake, source } = await setup({ windowMs: 10_000 });
    const controller = new AbortController();
    const pending = source.pull(pullReq(null, { timeoutMs: 20_000, signal: controller.signal }));
    const outcome = pending.catch((e: unknown) => e);
    await until(() => fake.open.length === 1);
    const conn = fake.open[0];
    controller.abort();
    expect(await outcome).toMatchObject({ code: "ABORTED" });
    const closed = await Promise.race([conn?.closed.then(() => true), sleep(10_000).then(() => false)]);
    expect(closed).toBe(true);
  });
});
