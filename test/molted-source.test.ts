import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { NormalizedEvent } from "../src/mail/event.js";
import { MoltedSource } from "../src/sources/molted.js";
import type { Position, PullRequest } from "../src/sources/source.js";
import { FakeMolted } from "./fakes/sse-molted.js";
import { sseSourceHarness } from "./helpers/sse-source-harness.js";
import { until } from "./helpers/until.js";

const TENANT = "tenant_abc123";
const { cleanups, setup, pullReq, drain } = sseSourceHarness({
  Fake: FakeMolted,
  Source: MoltedSource,
  identity: TENANT,
  maxPulls: 2_000,
});

const marks = (events: NormalizedEvent[]) => events.map((e) => e.data.n);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Where a stream stands after its first event (molted replays only after an id). */
async function anchored(fake: FakeMolted, source: MoltedSource, extra: Partial<PullRequest> = {}) {
  const first = source.pull(pullReq(null, { timeoutMs: 2_000, ...extra }));
  await until(() => fake.open.length > 0);
  fake.add(TENANT, "send.queued", { n: 0 });
  const page = await first;
  expect(marks(page.events)).toEqual([0]);
  return page.position;
}

describe("molted source", () => {
  for (const idIn of ["frame", "eventId", "id"] as const) {
    it(`loses and repeats nothing across 50 forced reconnects with duplicates (id in ${idIn})`, async () => {
      const { fake, source } = await setup({
        idIn,
        duplicateRate: 0.3,
        closeAfterEvents: 2,
        splitFrames: true,
      });
      const start = await anchored(fake, source);
      const producing = (async () => {
        for (let i = 1; i <= 100; i++) {
          fake.add(TENANT, i % 2 ? "delivery.sent" : "delivery.delivered", { n: i });
          await sleep(1);
        }
      })();
      const { events } = await drain(source, 100, start, { limit: 7 });
      await producing;
      expect(marks(events)).toEqual(range(1, 100));
      expect(new Set(events.map((e) => e.id)).size).toBe(100);
      expect(fake.connections.length).toBeGreaterThanOrEqual(50);
      expect(
        fake.connections.slice(1).every((c) => c.url.searchParams.get("since")?.startsWith("evt_")),
      ).toBe(true);
    });
  }

  it("replays up to 1,000 events after since, then goes live", async () => {
    const { fake, source } = await setup({ duplicateRate: 0.05 });
    const start = await anchored(fake, source);
    await source.close(); // forget the open stream: the next pull must replay
    for (let i = 1; i <= 1_200; i++) fake.add(TENANT, "delivery.sent", { n: i });
    const replay = await drain(source, 1_000, start, { limit: 200, timeoutMs: 0 });
    // The vendor keeps only the newest 1,000 for a replay.
    expect(marks(replay.events)).toEqual(range(201, 1_200));
    setTimeout(() => fake.add(TENANT, "delivery.sent", { n: 1_201 }), 100);
    const live = await drain(source, 1, replay.position, { timeoutMs: 2_000 });
    expect(marks(live.events)).toEqual([1_201]);
  });

  it("drops the duplicate a reconnect replays after a restart, using the stored position", async () => {
    const { fake, source, make } = await setup();
    const start = await anchored(fake, source);
    fake.add(TENANT, "delivery.sent", { n: 1 });
    const got = await drain(source, 1, start);
    await source.close();
    // The fake re-sends the last replayed event; the stored `seen` ids must catch it even
    // though the id it resumes after is older.
    const stored = JSON.parse(JSON.stringify(start)) as Position;
    const restarted = make();
    cleanups.push(() => restarted.close());
    fake.add(TENANT, "delivery.delivered", { n: 2 });
    const resumed = await drain(restarted, 1, { ...stored, seen: [...(got.position?.seen ?? [])] });
    expect(marks(resumed.events)).toEqual([2]);
    const after = await restarted.pull(pullReq(resumed.position, { timeoutMs: 100 }));
    expect(after.events).toEqual([]);
  });

  it("stops buffering between pulls at its bound, then resumes from where the buffer ends", async () => {
    const { fake, http } = await setup();
    const source = new MoltedSource({ url: fake.url, http, tuning: { maxBuffered: 10 } });
    cleanups.push(() => source.close());
    const start = await anchored(fake, source);
    for (let i = 1; i <= 30; i++) fake.add(TENANT, "delivery.sent", { n: i });
    await until(() => fake.open.length === 0); // nobody reading: the stream paused itself
    const { events } = await drain(source, 30, start, { limit: 8 });
    expect(marks(events)).toEqual(range(1, 30));
    expect(fake.connections.at(-1)?.url.searchParams.get("since")).toBe(fake.log[10]?.id);
  });

  it("sends its types upstream, delivery.* as the eight documented delivery types, so nothing else crosses the wire", async () => {
    const { fake, source } = await setup();
    const start = await anchored(fake, source);
    await source.close();
    fake.add(TENANT, "send.queued", { n: 1 });
    fake.add(TENANT, "delivery.bounced", { n: 2 });
    fake.add(TENANT, "policy.blocked", { n: 3 });
    fake.add(TENANT, "delivery.complained", { n: 4 });
    const wild = await source.pull(pullReq(start, { types: ["delivery.*"], timeoutMs: 0 }));
    expect(marks(wild.events)).toEqual([2, 4]);
    expect(fake.connections.at(-1)?.url.searchParams.get("eventTypes")?.split(",").sort()).toEqual([
      "delivery.accepted",
      "delivery.bounced",
      "delivery.complained",
      "delivery.deferred",
      "delivery.delivered",
      "delivery.failed",
      "delivery.queued",
      "delivery.sent",
    ]);
    // The fake filters server-side like the vendor: only the wanted frames were written.
    const inbound = await source.pull(pullReq(start, { types: ["inbound.*"], timeoutMs: 0 }));
    expect(inbound.events).toEqual([]);
    expect(fake.connections.at(-1)?.url.searchParams.get("eventTypes")).toBe(
      "inbound.classified,inbound.routed",
    );
    const exact = await source.pull(
      pullReq(start, { types: ["policy.blocked", "send.queued"], timeoutMs: 0 }),
    );
    expect(marks(exact.events)).toEqual([1, 3]);
    expect(fake.connections.at(-1)?.url.searchParams.get("eventTypes")).toBe("policy.blocked,send.queued");
  });

  it("follows one contact with tenant?contactEmail=", async () => {
    const { fake, source } = await setup();
    const identity = `${TENANT}?contactEmail=a%2Btag@example.com`;
    const start = await anchored(fake, source);
    await source.close();
    fake.add(TENANT, "delivery.sent", { n: 1, contactEmail: "a+tag@example.com" });
    fake.add(TENANT, "delivery.sent", { n: 2, contactEmail: "b@example.com" });
    fake.add(TENANT, "delivery.bounced", { n: 3, contactEmail: "a+tag@example.com" });
    const page = await source.pull(pullReq(start, { identity, timeoutMs: 0 }));
    expect(marks(page.events)).toEqual([1, 3]);
    expect(page.events[0]).toMatchObject({ identity, email: { to: ["a+tag@example.com"] } });
    const q = fake.connections.at(-1)?.url.searchParams;
    expect([q?.get("tenantId"), q?.get("contactEmail")]).toEqual([TENANT, "a+tag@example.com"]);
    expect(fake.connections.at(-1)?.headers.accept).toContain("text/event-stream");
  });

  it("rejects an identity with an unknown filter or no tenant id", async () => {
    const { source } = await setup({});
    await expect(source.pull(pullReq(null, { identity: "t?color=red", timeoutMs: 0 }))).rejects.toThrow(
      /unknown filter/,
    );
    await expect(
      source.pull(pullReq(null, { identity: "?contactEmail=a@b.c", timeoutMs: 0 })),
    ).rejects.toThrow(/tenant id/);
  });

  it("starts live when there is no stored cursor, skipping anything older than notBefore", async () => {
    const { fake, source } = await setup();
    fake.add(TENANT, "inbound.classified", { n: 1 }, Date.now() - 60_000);
    const signal = new AbortController().signal;
    const from = await source.seek({ identity: TENANT, notBefore: Date.now() - 1_000, after: null, signal });
    setTimeout(() => fake.add(TENANT, "inbound.classified", { n: 2 }), 100);
    const page = await source.pull(pullReq(from, { timeoutMs: 2_000 }));
    expect(marks(page.events)).toEqual([2]);
    expect(fake.connections[0]?.url.searchParams.get("since")).toBeNull();
  });

  it("a wait that timed out, mail landing before the next wait, and the next wait gets it", async () => {
    const { fake, source } = await setup();
    const signal = new AbortController().signal;
    const wait = async (timeoutMs: number) => {
      const from = await source.seek({
        identity: TENANT,
        notBefore: Date.now() - 120_000,
        after: null,
        signal,
      });
      return source.pull(pullReq(from, { timeoutMs }));
    };
    expect((await wait(200)).events).toEqual([]);
    await until(() => fake.open.length > 0);
    fake.add(TENANT, "inbound.routed", { n: 1 }); // between the two waits
    const next = await wait(2_000);
    expect(marks(next.events)).toEqual([1]);
    // A wait is a query: a third one, after the stream handed the event over, still finds it.
    const again = await wait(200);
    expect(marks(again.events)).toEqual([1]);
  });

  it("a pull on the reused stream gets the event upstream took just before it (timeoutMs 0), and a long-poll on it waits for the next one", async () => {
    const { fake, source } = await setup({ idIn: "eventId", duplicateRate: 0.2, splitFrames: true });
    const start = await anchored(fake, source);
    // Upstream has it before the call; it is still crossing the open socket as the call starts.
    fake.add(TENANT, "inbound.classified", { n: 1 });
    const next = await source.pull(pullReq(start, { timeoutMs: 0 }));
    expect(marks(next.events)).toEqual([1]);
    setTimeout(() => fake.add(TENANT, "inbound.classified", { n: 2 }), 300);
    const later = await source.pull(pullReq(next.position, { timeoutMs: 5_000 }));
    expect(marks(later.events)).toEqual([2]);
    expect(fake.connections.length).toBe(1);
  });

  it("a first pull with no cursor starts live and says so; a later one starts at the oldest event received", async () => {
    const { fake, source } = await setup();
    fake.add(TENANT, "delivery.sent", { n: 0 }); // before anything listened: molted cannot replay it
    const first = source.pull(pullReq(null, { timeoutMs: 2_000 }));
    await until(() => fake.open.length > 0);
    fake.add(TENANT, "delivery.sent", { n: 1 });
    const page = await first;
    expect(page.startedLive).toBe(true);
    expect(marks(page.events)).toEqual([1]);
    fake.add(TENANT, "delivery.sent", { n: 2 });
    const { events } = await drain(source, 2, null);
    expect(marks(events)).toEqual([1, 2]);
    const fresh = await source.pull(pullReq(null, { timeoutMs: 0 }));
    expect(fresh.startedLive).toBeUndefined();
    expect(marks(fresh.events)[0]).toBe(1);
  });

  it("keeps working with 300-character ids, and bounds ids past 1,000 characters", async () => {
    // Ids past the bound are hashed for dropping duplicates and never sent back, so only a
    // stream that stays open (no reconnect) can follow them.
    for (const [length, closeAfterEvents] of [
      [300, 2],
      [5_000, undefined],
    ] as const) {
      const { fake, source } = await setup({
        idOf: (n) => `evt_${String(n).padStart(length - 4, "0")}`,
        duplicateRate: 0.5,
        ...(closeAfterEvents === undefined ? {} : { closeAfterEvents }),
      });
      const start = await anchored(fake, source);
      for (let i = 1; i <= 6; i++) fake.add(TENANT, "delivery.sent", { n: i });
      const { events, position } = await drain(source, 6, start);
      expect(marks(events)).toEqual(range(1, 6));
      expect(new Set(events.map((e) => e.id)).size).toBe(6);
      expect(events.every((e) => e.id.length <= 1_000)).toBe(true);
      expect(String(position?.cursor).length).toBeLessThanOrEqual(1_000);
      expect(JSON.stringify(position).length).toBeLessThan(64 * 1_100);
    }
  });

  it("skips a malformed data line with a warning and goes on", async () => {
    const warnings: string[] = [];
    const { fake, source } = await setup({}, { info() {}, error() {}, warn: (m) => warnings.push(m) });
    const start = await anchored(fake, source);
    fake.add(TENANT, "delivery.sent", { n: 1 });
    fake.addMalformed(TENANT, '{"type": "delivery.sent", oops}');
    fake.add(TENANT, "delivery.sent", { n: 2 });
    const { events } = await drain(source, 2, start);
    expect(marks(events)).toEqual([1, 2]);
    expect(warnings).toEqual([expect.stringMatching(/molted: skipped an event for tenant_abc123/)]);
  });

  it("fails with UPSTREAM_AUTH on 401, naming MAIL_EVENTS_TOKEN", async () => {
    const { fake, source } = await setup();
    fake.token = "rotated";
    const error = await source.pull(pullReq(null)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UPSTREAM_AUTH" });
    expect(String((error as Error).message)).toContain("MAIL_EVENTS_TOKEN");
  });

  it("closes the socket when the call is cancelled", async () => {
    const { fake, source } = await setup();
    const controller = new AbortController();
    const outcome = source
      .pull(pullReq(null, { timeoutMs: 20_000, signal: controller.signal }))
      .catch((e: unknown) => e);
    await until(() => fake.open.length === 1);
    const conn = fake.open[0];
    controller.abort();
    expect(await outcome).toMatchObject({ code: "ABORTED" });
    expect(await Promise.race([conn?.closed.then(() => true), sleep(10_000).then(() => false)])).toBe(true);
  });
});
