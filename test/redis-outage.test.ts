import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { RedisCursorStore } from "../src/cursors/redis-cursor-store.js";
import { silentLogger } from "../src/log.js";
import { HttpClient } from "../src/sources/http-client.js";
import { InboxbaseSource } from "../src/sources/inboxbase.js";
import { parseStoreUrl } from "../src/store/store-url.js";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { startHarness, textOf } from "./helpers/harness.js";
import { RedisServer } from "./helpers/redis-server.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function storeOn(redis: RedisServer) {
  const spec = parseStoreUrl(redis.url);
  if (typeof spec === "string" || spec.kind !== "redis") throw new Error(String(spec));
  const store = new RedisCursorStore(spec, silentLogger);
  closers.push(() => store.close());
  return store;
}

async function setup(events: number) {
  const redis = await RedisServer.start();
  closers.push(() => redis.close());
  const fake = await new FakeInboxbase().start();
  closers.push(() => fake.close());
  for (let i = 0; i < events; i++) fake.email("load@x.test", { subject: `n${i}` });
  return { redis, fake };
}

type PullOut = { events: { seq: number }[]; cursor: number; hasMore: boolean };

const isStoreUnavailable = (result: CallToolResult) =>
  result.isError === true && /^\[STORE_UNAVAILABLE\] .*check MAIL_EVENTS_STORE/.test(textOf(result));

describe("the Redis store going away", () => {
  it("answers STORE_UNAVAILABLE while Redis is down, resumes by itself, and loses nothing it acknowledged", async () => {
    const total = 400;
    const { redis, fake } = await setup(total);
    const harness = await startHarness({ fake, deps: { cursors: storeOn(redis) } });
    closers.push(() => harness.close());
    const seen: number[] = [];
    let previousCursor = 0;
    /** The newest cursor a later successful call proved durable (its call began with `settled`). */
    let acknowledged = 0;
    let unavailable = 0;
    let waitWhileDown: CallToolResult | undefined;
    let ackedBeforeRestart = -1;
    let durableAfterRestart = -1;
    const giveUp = Date.now() + 90_000;
    for (let call = 0; call < 2_000 && Date.now() < giveUp; call++) {
      if (call === 15) await redis.stop("SIGTERM");
      if (!redis.running && unavailable >= 3) {
        waitWhileDown = await harness.call("wait_for_email", { identity: "load@x.test", timeoutSeconds: 1 });
        await redis.start();
        ackedBeforeRestart = acknowledged;
        // A process that never saw the outage reads what Redis kept through it.
        const reader = storeOn(redis);
        await reader.refresh();
        durableAfterRestart = Number(reader.get(await sourceKey(fake), "load@x.test", "pull")?.cursor);
      }
      const result = await harness.call("pull_events", { identity: "load@x.test", limit: 10 });
      if (result.isError) {
        expect(isStoreUnavailable(result), textOf(result)).toBe(true);
        unavailable++;
        continue;
      }
      const page = result.structuredContent as PullOut;
      acknowledged = previousCursor;
      previousCursor = page.cursor;
      seen.push(...page.events.map((e) => e.seq));
      if (!page.hasMore && page.cursor === total) break;
    }
    expect(unavailable).toBeGreaterThanOrEqual(3);
    expect(waitWhileDown && isStoreUnavailable(waitWhileDown), waitWhileDown && textOf(waitWhileDown)).toBe(
      true,
    );
    expect(ackedBeforeRestart).toBeGreaterThan(0);
    expect(durableAfterRestart).toBeGreaterThanOrEqual(ackedBeforeRestart);
    // Every event was handed out, and at most one page twice (at-least-once, SPEC §4).
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: total }, (_, i) => i + 1)));
    expect(seen.length - total).toBeLessThanOrEqual(10);
  });

  it("a frozen Redis (SIGSTOP) makes calls fail with STORE_UNAVAILABLE, not hang; they work again once it thaws", async () => {
    const { redis, fake } = await setup(5);
    const harness = await startHarness({ fake, deps: { cursors: storeOn(redis) } });
    closers.push(() => harness.close());
    expect((await harness.ok<PullOut>("pull_events", { identity: "load@x.test", limit: 2 })).cursor).toBe(2);
    redis.signal("SIGSTOP");
    const frozen = await harness.call("pull_events", { identity: "load@x.test", limit: 2 });
    expect(isStoreUnavailable(frozen), textOf(frozen)).toBe(true);
    redis.signal("SIGCONT");
    let page: PullOut | undefined;
    const giveUp = Date.now() + 20_000;
    while (page === undefined && Date.now() < giveUp) {
      const result = await harness.call("pull_events", { identity: "load@x.test", limit: 2 });
      if (!result.isError) page = result.structuredContent as PullOut;
    }
    expect(page?.events.map((e) => e.seq)).toEqual([3, 4]);
  });

  it("a server started while Redis is down answers STORE_UNAVAILABLE, then works once Redis is up", async () => {
    const { redis, fake } = await setup(5);
    await redis.stop("SIGTERM");
    const harness = await startHarness({ fake, deps: { cursors: storeOn(redis) } });
    closers.push(() => harness.close());
    const down = await harness.call("pull_events", { identity: "load@x.test" });
    expect(isStoreUnavailable(down), textOf(down)).toBe(true);
    await redis.start();
    let page: PullOut | undefined;
    const giveUp = Date.now() + 20_000;
    while (page === undefined && Date.now() < giveUp) {
      const result = await harness.call("pull_events", { identity: "load@x.test" });
      if (!result.isError) page = result.structuredContent as PullOut;
      else expect(isStoreUnavailable(result), textOf(result)).toBe(true);
    }
    expect(page?.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

/** The cursor namespace of an inboxbase source on the fake, as the harness builds it. */
async function sourceKey(fake: FakeInboxbase): Promise<string> {
  const http = new HttpClient({});
  const source = new InboxbaseSource({ url: fake.url, http });
  const { key } = source;
  await source.close();
  await http.close();
  return key;
}
