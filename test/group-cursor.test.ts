import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import { RedisCursorStore } from "../src/cursors/redis-cursor-store.js";
import type { CursorStore } from "../src/cursors/store.js";
import { silentLogger } from "../src/log.js";
import { parseStoreUrl } from "../src/store/store-url.js";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { type Harness, startHarness, tempDir, textOf } from "./helpers/harness.js";
import { redisForFile } from "./helpers/redis-server.js";
import { until } from "./helpers/until.js";

const LEASE_MS = 1_000;

const { url: redisUrl, closers } = redisForFile();

interface Member {
  member: string;
  claims: number;
  events: number | null;
  leasedUntil: string;
  from: number | null;
}
interface GroupOut {
  cursor: number | null;
  group: {
    name: string;
    position: number | null;
    leaseMs: number;
    members: Member[];
    lapsed: { claims: number; events: number | null };
    you: string;
  };
}
type PullOut = { events: { seq: number }[] };

let prefixes = 0;

/** Two servers, each with its own store, on one durable copy (one state dir, or one Redis database). */
async function twoMembers(kind: "file" | "redis", events: number) {
  const fake = await new FakeInboxbase().start();
  closers.push(() => fake.close());
  const identity = "team@x.test";
  for (let i = 0; i < events; i++) fake.email(identity, { subject: `job ${i}` });
  const dir = await tempDir(`group-cursor-${kind}-`);
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const prefix = `gc${++prefixes}:`;
  const open = async (): Promise<CursorStore> => {
    if (kind === "file") return FileCursorStore.open(dir, silentLogger, { groupLeaseMs: LEASE_MS });
    const spec = parseStoreUrl(`${redisUrl()}/4`);
    if (typeof spec === "string" || spec.kind !== "redis") throw new Error(String(spec));
    return new RedisCursorStore(spec, silentLogger, { prefix, groupLeaseMs: LEASE_MS });
  };
  const stores = [await open(), await open()];
  for (const s of stores) closers.push(() => s.close());
  const servers: Harness[] = [];
  for (const cursors of stores) {
    const h = await startHarness({ fake, deps: { cursors }, stateDir: dir });
    closers.push(() => h.close());
    servers.push(h);
  }
  return { fake, identity, stores, servers: servers as [Harness, Harness] };
}

const seqs = (out: PullOut) => out.events.map((e) => e.seq);

describe.each(["file", "redis"] as const)(
  "get_cursor and set_cursor on a consumer group (%s store)",
  (kind) => {
    it("get_cursor shows the group's position, its lease and each member's pages in flight", async () => {
      const { identity, stores, servers } = await twoMembers(kind, 10);
      const [a, b] = servers;
      const fresh = await a.ok<GroupOut>("get_cursor", { identity, group: "workers" });
      expect(fresh.cursor).toBeNull();
      expect(fresh.group).toMatchObject({
        name: "workers",
        position: null,
        members: [],
        you: stores[0]?.member,
      });

      expect(seqs(await a.ok<PullOut>("pull_events", { identity, group: "workers", limit: 3 }))).toEqual([
        1, 2, 3,
      ]);
      expect(seqs(await b.ok<PullOut>("pull_events", { identity, group: "workers", limit: 4 }))).toEqual([
        4, 5, 6, 7,
      ]);
      const result = await a.call("get_cursor", { identity, group: "workers" });
      const out = result.structuredContent as unknown as GroupOut;
      expect(out.cursor).toBe(7);
      expect(out.group.position).toBe(7);
      expect(out.group.leaseMs).toBe(LEASE_MS);
      expect(out.group.lapsed.claims).toBe(0);
      const byName = new Map(out.group.members.map((m) => [m.member, m]));
      expect(byName.get(stores[0]?.member ?? "")).toMatchObject({ claims: 1, events: 3, from: null });
      expect(byName.get(stores[1]?.member ?? "")).toMatchObject({ claims: 1, events: 4, from: 3 });
      for (const m of out.group.members) expect(Date.parse(m.leasedUntil)).toBeGreaterThan(0);
      const text = textOf(result);
      expect(text.split("\n")).toHaveLength(1);
      expect(text).toContain("group workers on team@x.test: position 7");
      expect(text).toContain(`you are ${stores[0]?.member}`);

      // a's next pull acknowledges its page and takes the rest.
      expect(seqs(await a.ok<PullOut>("pull_events", { identity, group: "workers" }))).toEqual([8, 9, 10]);
      const after = await b.ok<GroupOut>("get_cursor", { identity, group: "workers" });
      expect(after.group.position).toBe(10);
      expect(after.group.members.find((m) => m.member === stores[0]?.member)).toMatchObject({
        claims: 1,
        events: 3,
        from: 7,
      });
      expect(after.group.you).toBe(stores[1]?.member);
    });

    it("shows the pages of a member that is gone as lapsed, until another member takes them", async () => {
      const { identity, stores, servers } = await twoMembers(kind, 5);
      const [a, b] = servers;
      expect(seqs(await a.ok<PullOut>("pull_events", { identity, group: "g", limit: 5 }))).toEqual([
        1, 2, 3, 4, 5,
      ]);
      await a.close();
      await stores[0]?.close(); // a's member is gone: it renews nothing any more
      let view: GroupOut | undefined;
      await until(
        async () => {
          view = await b.ok<GroupOut>("get_cursor", { identity, group: "g" });
          return view.group.lapsed.claims === 1;
        },
        15_000,
        "a's page to show as lapsed",
      );
      expect(view?.group.lapsed.events).toBe(5);
      expect(view?.group.members).toEqual([]);
      expect(seqs(await b.ok<PullOut>("pull_events", { identity, group: "g" }))).toEqual([1, 2, 3, 4, 5]);
      const taken = await b.ok<GroupOut>("get_cursor", { identity, group: "g" });
      expect(taken.group.lapsed.claims).toBe(0);
      expect(taken.group.members.map((m) => m.member)).toEqual([stores[1]?.member]);
    });

    it("set_cursor moves the group's position forward, and back only with force", async () => {
      const { identity, servers } = await twoMembers(kind, 10);
      const [a, b] = servers;
      expect(seqs(await a.ok<PullOut>("pull_events", { identity, group: "g", limit: 2 }))).toEqual([1, 2]);
      const moved = await a.ok<GroupOut>("set_cursor", { identity, group: "g", cursor: 6 });
      expect(moved.group.position).toBe(6);
      // Every member continues after it.
      expect(seqs(await b.ok<PullOut>("pull_events", { identity, group: "g", limit: 2 }))).toEqual([7, 8]);

      const back = await a.call("set_cursor", { identity, group: "g", cursor: 3 });
      expect(back.isError).toBe(true);
      expect(textOf(back)).toMatch(
        /^\[INVALID_INPUT\] cursor 3 is behind group g's position 8: .*force: true/,
      );
      expect((await b.ok<GroupOut>("get_cursor", { identity, group: "g" })).group.position).toBe(8);

      const forced = await a.ok<GroupOut>("set_cursor", { identity, group: "g", cursor: 3, force: true });
      expect(forced.group.position).toBe(3);
      expect(seqs(await a.ok<PullOut>("pull_events", { identity, group: "g", limit: 2 }))).toEqual([4, 5]);

      // The group's own position and the plain consumer's cursor are apart.
      expect((await a.ok<GroupOut>("get_cursor", { identity })).cursor).toBeNull();
    });
  },
);
