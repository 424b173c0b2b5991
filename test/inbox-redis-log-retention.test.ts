import { afterEach, describe, expect, it } from "vitest";
import { parseStoreUrl } from "../src/store/store-url.js";
import { until } from "./helpers/cli-run.js";
import { RedisServer } from "./helpers/redis-server.js";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { startTestInbox, type TestInbox } from "./helpers/smtp-inbox.js";

// Two inboxes in this process on one Redis: what retention or a clear drops goes from both
// and from the store.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function twoInboxes(retention?: { perIdentity: number; total: number }) {
  const redis = await RedisServer.start();
  closers.push(() => redis.close());
  const a = await inboxOn(redis, retention);
  const b = await inboxOn(redis, retention);
  return { redis, a, b };
}

async function inboxOn(redis: RedisServer, retention?: { perIdentity: number; total: number }) {
  const store = parseStoreUrl(redis.url);
  if (typeof store === "string") throw new Error(store);
  const inbox = await startTestInbox({ store, ...(retention === undefined ? {} : { retention }) });
  closers.push(() => inbox.close(true));
  return inbox;
}

const send = (inbox: TestInbox, to: string, subject: string) =>
  sendWithNodemailer(inbox.inbox.smtpPort, {
    from: "shop@x.test",
    to: [to],
    raw: `From: shop@x.test\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`,
  });

const subjectsOf = async (inbox: TestInbox, identity: string) =>
  (await inbox.events(identity)).map((e) => (e.data as { subject: string }).subject);

/** Raw message keys in the store. */
async function rawKeys(redis: RedisServer): Promise<string[]> {
  return redis.client().keys("mail-events:inbox:msg:*");
}

describe("an inbox joining the Redis log", () => {
  it("reads the whole log as it is in the store, under the same epoch, and follows it from there", async () => {
    const { redis, a, b } = await twoInboxes();
    for (let i = 0; i < 30; i++) await send(i % 2 === 0 ? a : b, "late@x.test", `l${i}`);
    await b.close();
    const cleared = await fetch(`${a.inbox.httpUrl}/v1/identities/late%40x.test/messages`, {
      method: "DELETE",
      headers: { "x-mail-events": "1" },
    });
    expect(((await cleared.json()) as { cleared: number }).cleared).toBe(30);
    for (let i = 30; i < 35; i++) await send(a, "late@x.test", `l${i}`);
    const c = await inboxOn(redis);
    const expected = Array.from({ length: 5 }, (_, i) => `l${30 + i}`);
    expect(await subjectsOf(c, "late@x.test")).toEqual(expected);
    expect((await c.events("late@x.test")).map((e) => e.id)).toEqual(
      (await a.events("late@x.test")).map((e) => e.id),
    );
    expect((await c.get("/v1/health")).json.epoch).toBe((await a.get("/v1/health")).json.epoch);
    await send(c, "late@x.test", "l35");
    await until(async () => (await subjectsOf(a, "late@x.test")).length === 6, 10_000, "A to see C's mail");
  }, 60_000);
});

describe("retention and clearing of the Redis log", () => {
  it("drops old mail from every process and from the store (stream trimmed, raw messages deleted)", async () => {
    const { redis, a, b } = await twoInboxes({ perIdentity: 5, total: 8 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const reply = await send(i % 2 === 0 ? a : b, "old@x.test", `m${i}`);
      ids.push(/stored as (\S+)/.exec(reply)?.[1] as string);
    }
    const newest = ["m7", "m8", "m9", "m10", "m11"];
    for (const inbox of [a, b]) {
      await until(
        async () => (await subjectsOf(inbox, "old@x.test")).join() === newest.join(),
        10_000,
        "the newest 5 only",
      );
      const dropped = await inbox.get(`/v1/messages/${encodeURIComponent(ids[0] as string)}`);
      expect(dropped.status).toBe(404);
    }
    const client = redis.client();
    await until(
      async () => (await client.xlen("mail-events:inbox:log")) === 5,
      10_000,
      "the stream trimmed to 5",
    );
    await until(async () => (await rawKeys(redis)).length === 5, 10_000, "5 raw messages left in the store");
    const first = (await client.xrange("mail-events:inbox:log", "-", "+", "COUNT", 1)) as [
      string,
      string[],
    ][];
    expect(first[0]?.[0]).toBe(`${/_(\d+)$/.exec(ids[7] as string)?.[1]}-0`);
  }, 60_000);

  it("a clear through one process clears the mail in every process and in the store, and seqs go on", async () => {
    const { redis, a, b } = await twoInboxes();
    for (let i = 0; i < 4; i++) await send(i % 2 === 0 ? a : b, "gone@x.test", `g${i}`);
    await send(a, "kept@x.test", "k0");
    await until(async () => (await subjectsOf(a, "gone@x.test")).length === 4, 10_000, "A to see the mail");
    const res = await fetch(`${b.inbox.httpUrl}/v1/identities/gone%40x.test/messages`, {
      method: "DELETE",
      headers: { "x-mail-events": "1" },
    });
    expect(await res.json()).toEqual({ identity: "gone@x.test", cleared: 4 });
    for (const inbox of [a, b]) {
      await until(
        async () => (await subjectsOf(inbox, "gone@x.test")).length === 0,
        10_000,
        "the clear in both",
      );
      expect(await subjectsOf(inbox, "kept@x.test")).toEqual(["k0"]);
    }
    await until(async () => (await rawKeys(redis)).length === 1, 10_000, "only kept@'s raw message left");
    const reply = await send(a, "gone@x.test", "g-after");
    const seq = Number(/_(\d+)$/.exec(/stored as (\S+)/.exec(reply)?.[1] ?? "")?.[1]);
    expect(seq).toBe(6);
    await until(
      async () => (await subjectsOf(b, "gone@x.test")).join() === "g-after",
      10_000,
      "new mail after the clear",
    );
  }, 60_000);
});

describe("a store that lost the log", () => {
  it("starts a new log under a new epoch in every process, and takes mail again without a restart", async () => {
    const { redis, a, b } = await twoInboxes();
    for (let i = 0; i < 3; i++) await send(i % 2 === 0 ? a : b, "lost@x.test", `old${i}`);
    const before = (await a.get("/v1/health")).json.epoch;
    await redis.client().flushall();
    let reply = "";
    await until(
      async () => {
        reply = await send(a, "lost@x.test", "new0").catch((error: Error) => error.message);
        return reply.startsWith("250");
      },
      20_000,
      "mail to be accepted by a new log",
    );
    for (const inbox of [a, b]) {
      await until(
        async () => (await subjectsOf(inbox, "lost@x.test").catch(() => [])).join() === "new0",
        10_000,
        "only the new mail",
      );
      const epoch = (await inbox.get("/v1/health")).json.epoch;
      expect(epoch).not.toBe(before);
    }
    expect((await a.get("/v1/health")).json.epoch).toBe((await b.get("/v1/health")).json.epoch);
    expect(a.log.lines.some((l) => /no longer holds the log of epoch .*: that mail is lost/.test(l))).toBe(
      true,
    );
  }, 60_000);
});
