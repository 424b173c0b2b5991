import { once } from "node:events";
import { rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "./helpers/cli-run.js";
import { RedisServer } from "./helpers/redis-server.js";
import { smtpDialogue } from "./helpers/smtp-client.js";
import { requireDist, type SpawnedInbox, spawnInbox, tempDir } from "./helpers/smtp-inbox.js";

// Redis frozen, killed and restarted under two running `inbox` processes (the built bin).

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function inboxesOn(redis: RedisServer): Promise<[SpawnedInbox, SpawnedInbox]> {
  const env = { MAIL_EVENTS_STORE: redis.url };
  const started: SpawnedInbox[] = [];
  for (let i = 0; i < 2; i++) {
    const dir = await tempDir();
    const inbox = await spawnInbox(dir, env);
    started.push(inbox);
    closers.push(async () => {
      if (inbox.child.exitCode === null) {
        inbox.child.kill("SIGTERM");
        await once(inbox.child, "exit");
      }
      await rm(dir, { recursive: true, force: true });
    });
  }
  return started as [SpawnedInbox, SpawnedInbox];
}

/** One SMTP transaction by hand; the final reply (to the message's end), e.g. `250 OK: …` or `451 …`. */
async function send(port: number, to: string, subject: string): Promise<string> {
  const replies = await smtpDialogue(
    port,
    [
      "EHLO test\r\n",
      "MAIL FROM:<shop@x.test>\r\n",
      `RCPT TO:<${to}>\r\n`,
      "DATA\r\n",
      `From: shop@x.test\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nHello.\r\n.\r\n`,
      "QUIT\r\n",
    ],
    20_000,
  ).catch((error: Error) => [`connection failed: ${error.message}`]);
  return replies[5] ?? replies.at(-1) ?? "";
}

async function subjects(inbox: SpawnedInbox, identity: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(
    `${inbox.httpUrl}/v1/identities/${encodeURIComponent(identity)}/events?since=0&limit=200`,
  );
  return { status: res.status, body: await res.json() };
}

type Page = { events: { seq: number; data: { subject: string } }[] };

const storeUnavailable = (r: { status: number; body: unknown }) =>
  r.status === 503 &&
  /^\[STORE_UNAVAILABLE\] .*redis:\/\/127\.0\.0\.1:\d+\/0.*check MAIL_EVENTS_STORE/.test(
    String((r.body as { error?: string }).error),
  );

describe("the Redis log when Redis goes away", () => {
  it("answers 451 and STORE_UNAVAILABLE while Redis is frozen or dead, keeps every mail it gave a 250, and resumes by itself", async () => {
    requireDist();
    // `always`: this test kills Redis and counts on every acknowledged mail being on its disk.
    const redis = await RedisServer.start({ appendfsync: "always" });
    closers.push(() => redis.close());
    const [a, b] = await inboxesOn(redis);
    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const reply = await send(i % 2 === 0 ? a.smtpPort : b.smtpPort, "ops@x.test", `before ${i}`);
      expect(reply).toMatch(/^250 /);
      accepted.push(`before ${i}`);
    }

    redis.signal("SIGSTOP");
    const frozen = await send(a.smtpPort, "ops@x.test", "while frozen");
    expect(frozen).toMatch(/^451 .*redis:\/\/127\.0\.0\.1:\d+\/0.*MAIL_EVENTS_STORE/);
    await until(
      async () => storeUnavailable(await subjects(b, "ops@x.test")),
      20_000,
      "B to say the store is unavailable",
    );

    redis.signal("SIGCONT");
    let thawed = "";
    await until(
      async () => {
        thawed = await send(b.smtpPort, "ops@x.test", "after thaw");
        return thawed.startsWith("250 ");
      },
      20_000,
      "mail to be accepted again after the thaw",
    );
    accepted.push("after thaw");

    await redis.stop("SIGKILL");
    const dead = await send(b.smtpPort, "ops@x.test", "while dead");
    expect(dead).toMatch(/^451 .*redis:\/\/127\.0\.0\.1:\d+\/0.*MAIL_EVENTS_STORE/);
    await until(
      async () => storeUnavailable(await subjects(a, "ops@x.test")),
      20_000,
      "A to say the store is unavailable",
    );

    await redis.start();
    let again = "";
    await until(
      async () => {
        again = await send(a.smtpPort, "ops@x.test", "after restart");
        return again.startsWith("250 ");
      },
      20_000,
      "mail to be accepted again after the restart",
    );
    accepted.push("after restart");

    for (const inbox of [a, b]) {
      let page: Page = { events: [] };
      await until(
        async () => {
          const r = await subjects(inbox, "ops@x.test");
          if (r.status !== 200) return false;
          page = r.body as Page;
          return accepted.every((s) => page.events.some((e) => e.data.subject === s));
        },
        20_000,
        "every accepted mail through both processes",
      );
      const seqs = page.events.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    }
  }, 180_000);

  it("an inbox started while Redis is down refuses mail with 451 and requests with STORE_UNAVAILABLE, then works once Redis is up", async () => {
    requireDist();
    const redis = await RedisServer.start();
    closers.push(() => redis.close());
    await redis.stop();
    const [a] = await inboxesOn(redis);
    expect(await send(a.smtpPort, "early@x.test", "too early")).toMatch(
      /^451 .*redis:\/\/127\.0\.0\.1:\d+\/0.*MAIL_EVENTS_STORE/,
    );
    expect(storeUnavailable(await subjects(a, "early@x.test"))).toBe(true);
    await redis.start();
    await until(
      async () => (await send(a.smtpPort, "early@x.test", "on time")).startsWith("250 "),
      20_000,
      "mail to be accepted once Redis is up",
    );
    const page = (await subjects(a, "early@x.test")).body as Page;
    expect(page.events.map((e) => e.data.subject)).toEqual(["on time"]);
  }, 60_000);
});
