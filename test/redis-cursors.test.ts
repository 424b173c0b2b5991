import { spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import { RedisCursorStore } from "../src/cursors/redis-cursor-store.js";
import type { CursorStore } from "../src/cursors/store.js";
import { silentLogger } from "../src/log.js";
import { parseStoreUrl } from "../src/store/store-url.js";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { type Harness, startHarness, tempDir } from "./helpers/harness.js";
import { redisForFile } from "./helpers/redis-server.js";

const MAIN = join(import.meta.dirname, "..", "dist", "main.js");

const { url: redisUrl, closers } = redisForFile();

/** A Redis store of its own, under a key prefix of its own test. */
function redisStore(prefix: string, options: ConstructorParameters<typeof RedisCursorStore>[2] = {}) {
  const spec = parseStoreUrl(redisUrl());
  if (typeof spec === "string" || spec.kind !== "redis") throw new Error(spec as string);
  const store = new RedisCursorStore(spec, silentLogger, { prefix, ...options });
  closers.push(() => store.close());
  return store;
}

/** A server as main.ts builds it, on its own state dir, keeping cursors in `cursors`. */
async function server(fake: FakeInboxbase, cursors: CursorStore): Promise<Harness> {
  const harness = await startHarness({ fake, deps: { cursors } });
  closers.push(() => harness.close());
  return harness;
}

type PullOut = { events: { seq: number; id: string }[]; cursor: number; hasMore: boolean };

describe("cursors in Redis (MAIL_EVENTS_STORE=redis://…)", () => {
  it("a pull loop continues on another server, with another state dir, where the first left off", async () => {
    const fake = await new FakeInboxbase().start();
    closers.push(() => fake.close());
    for (let i = 0; i < 30; i++) fake.email("loop@x.test", { subject: `n${i}` });
    const a = await server(fake, redisStore("loop:"));
    const b = await server(fake, redisStore("loop:"));
    expect(a.stateDir).not.toBe(b.stateDir);
    const seqs: number[] = [];
    for (const at of [a, b, a]) {
      const page = await at.ok<PullOut>("pull_events", { identity: "loop@x.test", limit: 10 });
      seqs.push(...page.events.map((e) => e.seq));
    }
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await b.ok("get_cursor", { identity: "loop@x.test" })).toMatchObject({ cursor: 30 });
    // A filtered loop is its own consumer there too.
    const bounced = await b.ok<PullOut>("pull_events", { identity: "loop@x.test", types: "email.bounced" });
    expect(bounced.events).toEqual([]);
    expect(await a.ok("get_cursor", { identity: "loop@x.test" })).toMatchObject({ cursor: 30 });
  });

  it("waits alternating between two servers never return one email twice", async () => {
    const fake = await new FakeInboxbase().start();
    closers.push(() => fake.close());
    fake.ensure("codes@x.test");
    for (const code of ["111111", "222222", "333333"]) {
      fake.email("codes@x.test", { from: "noreply@shop.test", subject: `Your code is ${code}` });
    }
    const a = await server(fake, redisStore("waits:"));
    const b = await server(fake, redisStore("waits:"));
    const got: string[] = [];
    for (const at of [a, b, a]) {
      const out = await at.ok<{ found: boolean; email: { id: string; codes: string[] } }>("wait_for_email", {
        identity: "codes@x.test",
        timeoutSeconds: 5,
      });
      expect(out.found).toBe(true);
      got.push(...out.email.codes);
    }
    // Newest first, each once, wherever the wait ran.
    expect(got).toEqual(["333333", "222222", "111111"]);
    const none = await b.ok<{ found: boolean }>("wait_for_email", {
      identity: "codes@x.test",
      timeoutSeconds: 0,
    });
    expect(none.found).toBe(false);
  });

  it("several writers at once never roll a cursor back and never drop a returned email", async () => {
    const stores = [redisStore("race:"), redisStore("race:"), redisStore("race:"), redisStore("race:")];
    await Promise.all(
      stores.map(async (store, w) => {
        for (let i = 1; i <= 40; i++) {
          const order = i * 10 + w; // every writer's orders interleave with the others'
          store.advance("s", "race@x.test", "pull", { cursor: order, order });
          store.remember("s", "race@x.test", { id: `w${w}-${i}`, order }, undefined);
          if (i % 5 === 0) await store.settled();
        }
        await store.settled();
      }),
    );
    const reader = redisStore("race:");
    await reader.refresh();
    expect(reader.get("s", "race@x.test", "pull")?.order).toBe(403);
    const returned = reader.get("s", "race@x.test", "wait")?.returned ?? [];
    expect(new Set(returned.map((r) => r.id)).size).toBe(160);
  });

  it("keeps the same record as the file store for the same changes", async () => {
    const dir = await tempDir("agree-");
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const at = new Date("2026-01-01T00:00:00Z");
    const file = await FileCursorStore.open(dir, silentLogger, { now: () => at });
    closers.push(() => file.close());
    const red = redisStore("agree:", { now: () => at });
    const apply = async (store: CursorStore) => {
      await store.commit("s", "i", "pull", { cursor: 5, order: 5, epoch: "e1" });
      await store.commit("s", "i", "pull", { cursor: 3, order: 3, epoch: "e1" }); // ignored: backward
      await store.commit("s", "i", "pull types=email.bounced", { cursor: 9, order: 9, seen: ["a", "b"] });
      await store.commit("s", "i", "pull types=email.bounced", { cursor: 9, order: 9, seen: ["c"] });
      for (let n = 0; n < 300; n++) store.remember("s", "i", { id: `e${n}`, order: n + 1 }, "e1");
      await store.settled();
      await store.commit("s", "j", "pull", { cursor: 7, order: 7 });
      await store.commit("s", "j", "pull", { cursor: 2, order: 2 }, true); // forced back
      await store.refresh();
      return ["pull", "pull types=email.bounced", "wait"]
        .map((c) => store.get("s", "i", c))
        .concat(store.get("s", "j", "pull"));
    };
    const fromFile = await apply(file);
    const fromRedis = await apply(red);
    expect(fromRedis).toEqual(fromFile);
    expect(fromFile[0]?.order).toBe(5);
    expect(fromFile[2]?.returned).toHaveLength(256);
    expect(fromFile[3]?.order).toBe(2);
  });
});

describe("a bad MAIL_EVENTS_STORE", () => {
  const configWith = (store: string) => () => loadConfig({ MAIL_EVENTS_STORE: store }, [], () => "/tmp/x");

  it.each([
    ["postgres://db:5432", /must be `file` or a redis:\/\/host:port\[\/db\] URL \(got "postgres/],
    ["redis://localhost:99999", /a port is 1\.\.65535/],
    ["redis://localhost:0", /port 1\.\.65535/],
    ["redis://localhost:6379/abc", /database number/],
    ["redis://localhost:6379/-1", /database number/],
    ["not a url", /`file` or a redis/],
  ])("refuses %s at start, naming the variable", (value, reason) => {
    expect(configWith(value)).toThrow(/^MAIL_EVENTS_STORE \(--store\) /);
    expect(configWith(value)).toThrow(reason);
  });

  it("never echoes a store password in the error", () => {
    expect(configWith("redis://u:hunter2@host:6379/x")).toThrow(/^MAIL_EVENTS_STORE (?!.*hunter2)/);
  });

  it("takes file, redis://host, redis://host:port/db and the --store flag", () => {
    expect(loadConfig({}, [], () => "/tmp/x").config.store).toEqual({ kind: "file" });
    expect(loadConfig({}, ["--store", "redis://h:7000/3"], () => "/tmp/x").config.store).toMatchObject({
      host: "h",
      port: 7000,
      db: 3,
    });
    expect(loadConfig({ MAIL_EVENTS_STORE: "redis://h" }, [], () => "/tmp/x").config.store).toMatchObject({
      port: 6379,
      db: 0,
    });
  });

  it("stops the built server at start with one line on stderr", async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? "", MAIL_EVENTS_STORE: "redis://127.0.0.1:6379/db1" },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/MAIL_EVENTS_STORE \(--store\) must end with a database number/);
  });
});
