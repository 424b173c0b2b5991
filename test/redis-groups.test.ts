import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import { RedisCursorStore } from "../src/cursors/redis-cursor-store.js";
import type { CursorStore } from "../src/cursors/store.js";
import { silentLogger } from "../src/log.js";
import { parseStoreUrl } from "../src/store/store-url.js";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { type Harness, startHarness, tempDir, textOf } from "./helpers/harness.js";
import { redisForFile } from "./helpers/redis-server.js";

const MAIN = join(import.meta.dirname, "..", "dist", "main.js");
const LEASE_MS = 1_000;

const { url: redisUrl, closers } = redisForFile();

function redisStore(prefix: string | undefined, url = `${redisUrl()}/0`) {
  const spec = parseStoreUrl(url);
  if (typeof spec === "string" || spec.kind !== "redis") throw new Error(String(spec));
  const store = new RedisCursorStore(spec, silentLogger, {
    ...(prefix === undefined ? {} : { prefix }),
    groupLeaseMs: LEASE_MS,
  });
  closers.push(() => store.close());
  return store;
}

async function member(fake: FakeInboxbase, cursors: CursorStore, stateDir?: string): Promise<Harness> {
  const harness = await startHarness({ fake, deps: { cursors }, ...(stateDir ? { stateDir } : {}) });
  closers.push(() => harness.close());
  return harness;
}

type PullOut = { events: { seq: number }[]; cursor: number | null; hasMore: boolean };
type Call = (args: Record<string, unknown>) => Promise<CallToolResult>;

const pageOf = (result: CallToolResult): number[] => {
  if (result.isError) throw new Error(textOf(result));
  return (result.structuredContent as PullOut).events.map((e) => e.seq);
};

async function fakeWith(identity: string, events: number) {
  const fake = await new FakeInboxbase().start();
  closers.push(() => fake.close());
  for (let i = 0; i < events; i++) fake.email(identity, { subject: `job ${i}` });
  return fake;
}

const handle = (handled: Map<number, number[]>, seqs: number[], m: number) => {
  for (const seq of seqs) handled.set(seq, [...(handled.get(seq) ?? []), m]);
};

/** Members pull their group until `done`, bounded in calls and time. */
async function drain(members: Call[], handled: Map<number, number[]>, done: () => boolean, first = 0) {
  const giveUp = Date.now() + 45_000;
  await Promise.all(
    members.map(async (call, i) => {
      for (let n = 0; n < 3_000 && !done() && Date.now() < giveUp; n++) {
        // A short long-poll: a member with nothing to do waits for a lapsed lease without spinning.
        handle(handled, pageOf(await call({ timeoutMs: 100 })), first + i);
      }
    }),
  );
}

describe("claim-once consumer groups (pull_events group)", () => {
  it("three members, one of them a built server killed with SIGKILL mid-way, handle 1,000 events: none twice but the killed one's last page", async () => {
    const identity = "team@x.test";
    const total = 1_000;
    const fake = await fakeWith(identity, total);
    // Database 1 with the default key prefix: the built server's store is the same.
    const url = `${redisUrl()}/1`;
    const a = await member(fake, redisStore(undefined, url));
    const b = await member(fake, redisStore(undefined, url));
    const args = { identity, group: "workers", limit: 20 };
    const handled = new Map<number, number[]>();
    // The first member to use the group fixes its lease (1 s here) for every member.
    handle(handled, pageOf(await a.call("pull_events", args)), 0);

    const stateDir = await tempDir("member-");
    closers.push(() => rm(stateDir, { recursive: true, force: true }));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN],
      env: {
        PATH: process.env.PATH ?? "",
        MAIL_EVENTS_SOURCE: "inboxbase",
        MAIL_EVENTS_URL: fake.url,
        MAIL_EVENTS_STATE_DIR: stateDir,
        MAIL_EVENTS_STORE: url,
      },
      stderr: "pipe",
    });
    const spawned = new Client({ name: "member-c", version: "0" });
    await spawned.connect(transport);
    closers.push(() => spawned.close());
    const pages: number[][] = [];
    let killed = false;
    const pull = async () => {
      const seqs = pageOf(
        (await spawned.callTool({ name: "pull_events", arguments: args })) as CallToolResult,
      );
      if (seqs.length > 0) pages.push(seqs);
      handle(handled, seqs, 2);
      return seqs.length;
    };
    // Its first pages alone, so a slow start of the bin cannot leave it nothing to do.
    for (let n = 0; n < 20 && pages.length < 2; n++) await pull();
    const killing = (async () => {
      for (let n = 0; n < 50 && pages.length < 5; n++) if ((await pull()) === 0) break;
      // Mid-way, with its last page handed out but not acknowledged (its next pull would have):
      // the member died while working on it, so that page must reach another member.
      process.kill(transport.pid as number, "SIGKILL");
      killed = true;
    })();
    const inFlight = () => new Set(killed ? pages.at(-1) : []);
    const handledByLive = (seq: number) => (handled.get(seq) ?? []).some((m) => m !== 2);
    const done = () => {
      if (!killed) return false;
      const last = inFlight();
      for (let seq = 1; seq <= total; seq++) {
        if (!(handled.has(seq) && (!last.has(seq) || handledByLive(seq)))) return false;
      }
      return true;
    };
    const live = [a, b].map(
      (h) => (extra: Record<string, unknown>) => h.call("pull_events", { ...args, ...extra }),
    );
    await Promise.all([killing, drain(live, handled, done)]);
    // The live members may have run out of work before the kill: they go on until the lease lapses.
    await drain(live, handled, done);

    const twice = [...handled].filter(([, ms]) => ms.length > 1).map(([seq]) => seq);
    const last = inFlight();
    const perMember = [0, 1, 2].map((m) => [...handled.values()].filter((ms) => ms.includes(m)).length);
    process.stderr.write(
      `group of 3 over ${total} events: handled ${handled.size}; per member ${perMember.join(" / ")} ` +
        `(the killed one's last page: ${last.size}); handled by two members: ${twice.length}\n`,
    );
    expect(done()).toBe(true);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(handled.size).toBe(total);
    expect(perMember.every((n) => n > 0)).toBe(true);
    for (const seq of twice) expect(last.has(seq), `event ${seq} handled twice`).toBe(true);
    for (const seq of last) expect(handledByLive(seq), `event ${seq} of the killed member's page`).toBe(true);
    for (const ms of handled.values()) expect(new Set(ms).size).toBe(ms.length);
  }, 120_000);

  it("a live member keeps its page however long it takes; a member that is gone loses it to another once the lease runs out", async () => {
    const identity = "lapse@x.test";
    const fake = await fakeWith(identity, 10);
    const storeA = redisStore("lapse:");
    const a = await member(fake, storeA);
    const b = await member(fake, redisStore("lapse:"));
    const args = { identity, group: "g", limit: 5 };
    expect(pageOf(await a.call("pull_events", args))).toEqual([1, 2, 3, 4, 5]);
    expect(pageOf(await b.call("pull_events", args))).toEqual([6, 7, 8, 9, 10]);
    // a's server lives on (its agent is still working): it renews its lease, b gets nothing.
    for (const until = Date.now() + 3 * LEASE_MS; Date.now() < until; ) {
      expect(pageOf(await b.call("pull_events", { ...args, timeoutMs: 100 }))).toEqual([]);
    }
    // a's member goes (its store connection with it): the lease lapses and b gets a's page.
    await storeA.close();
    let again: number[] = [];
    const giveUp = Date.now() + 15_000;
    while (again.length === 0 && Date.now() < giveUp) {
      again = pageOf(await b.call("pull_events", { ...args, timeoutMs: 100 }));
    }
    expect(again).toEqual([1, 2, 3, 4, 5]);
    // Everything is acknowledged now: nothing is handed out again.
    expect(pageOf(await b.call("pull_events", args))).toEqual([]);
    fake.email(identity, { subject: "new" });
    expect(pageOf(await b.call("pull_events", args))).toEqual([11]);
  });

  it("works on the file store too: members sharing a state directory each get different events", async () => {
    const identity = "files@x.test";
    const total = 200;
    const fake = await fakeWith(identity, total);
    const dir = await tempDir("group-files-");
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const stores = await Promise.all([0, 1].map(() => FileCursorStore.open(dir, silentLogger)));
    for (const s of stores) closers.push(() => s.close());
    const [a, b] = await Promise.all(stores.map((s) => member(fake, s, dir)));
    const handled = new Map<number, number[]>();
    const calls = [a, b].map(
      (h) => (extra: Record<string, unknown>) =>
        (h as Harness).call("pull_events", { identity, group: "files", limit: 7, ...extra }),
    );
    await drain(calls, handled, () => handled.size >= total);
    expect(handled.size).toBe(total);
    expect([...handled.values()].every((ms) => ms.length === 1)).toBe(true);
  });

  it("a group per types filter: a bounce group and an unfiltered group each see their own events", async () => {
    const identity = "mixed@x.test";
    const fake = await fakeWith(identity, 3);
    fake.append(identity, { type: "email.bounced", data: {} });
    const a = await member(fake, redisStore("mixed:"));
    const bounces = pageOf(await a.call("pull_events", { identity, group: "g", types: "email.bounced" }));
    const all = pageOf(await a.call("pull_events", { identity, group: "g" }));
    expect(bounces).toEqual([4]);
    expect(all).toEqual([1, 2, 3, 4]);
  });

  it("refuses a bad group name, and `since` or commit: false with a group", async () => {
    const fake = await fakeWith("v@x.test", 1);
    const a = await member(fake, redisStore("v:"));
    for (const group of ["", "has space", "x".repeat(65), "slash/name"]) {
      const result = await a.call("pull_events", { identity: "v@x.test", group });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/group/);
    }
    const withSince = await a.call("pull_events", { identity: "v@x.test", group: "ok.name-1_", since: 0 });
    expect(textOf(withSince)).toMatch(/^\[INVALID_INPUT\] `group`/);
    const noCommit = await a.call("pull_events", { identity: "v@x.test", group: "ok", commit: false });
    expect(textOf(noCommit)).toMatch(/^\[INVALID_INPUT\] `group`/);
  });
});
