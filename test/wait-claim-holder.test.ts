import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLAIM_LEASE_MS, refusal } from "../src/cursors/claims.js";
import { FileClaims } from "../src/cursors/file-claims.js";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import type { StoredCursor } from "../src/cursors/merge.js";
import { RedisCursorStore } from "../src/cursors/redis-cursor-store.js";
import type { CursorStore } from "../src/cursors/store.js";
import { processProbe } from "../src/lock/process-probe.js";
import { silentLogger } from "../src/log.js";
import { parseStoreUrl } from "../src/store/store-url.js";
import { tempDir } from "./helpers/harness.js";
import { redisForFile } from "./helpers/redis-server.js";

// A wait claims an email before its reply carries it (src/cursors/claims.ts). A claimer killed
// between the two leaves its claim behind: a wait on the same host must not wait out the lease.
// These tests hold claims in real child processes (set up as main.ts sets up the server) and
// SIGKILL them.

const CHILD = join(import.meta.dirname, "helpers", "lock-child.mjs");
const SOURCE = "local http://127.0.0.1:1";
const IDENTITY = "me@example.com";
const EMAIL = { id: "evt_1", order: 1 };
const probe = processProbe(process);
const { url: redisUrl, closers } = redisForFile();
const children: ChildProcess[] = [];
// redisForFile's closers run after each test: the stores and temp dirs a test opened.
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** A cursor store of `kind` on a fresh place, and that place as the child process names it. */
async function place(kind: "file" | "redis", name: string): Promise<{ where: string; prefix: string }> {
  if (kind === "redis") return { where: `${redisUrl()}/4`, prefix: `${name}:` };
  const dir = await tempDir("claims-");
  closers.push(() => rm(dir, { recursive: true, force: true }));
  return { where: dir, prefix: "" };
}

async function open({ where, prefix }: { where: string; prefix: string }): Promise<CursorStore> {
  let store: CursorStore;
  if (where.startsWith("redis://")) {
    const spec = parseStoreUrl(where);
    if (typeof spec === "string" || spec.kind !== "redis") throw new Error(String(spec));
    store = new RedisCursorStore(spec, silentLogger, { prefix, probe });
  } else store = await FileCursorStore.open(where, silentLogger);
  closers.push(() => store.close());
  return store;
}

/** A child process that claims EMAIL on the store at `at` and holds the claim until killed. */
async function claimer(at: { where: string; prefix: string }): Promise<ChildProcess> {
  const args = ["claim", at.where, at.prefix, JSON.stringify([SOURCE, IDENTITY, EMAIL])];
  const child = fork(CHILD, args, { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  children.push(child);
  const [message] = await once(child, "message");
  expect(message).toBe("claimed");
  return child;
}

describe.each(["file", "redis"] as const)("a wait claim held by another process (%s store)", (kind) => {
  it("is refused while its holder runs, with the lease's end", async () => {
    const at = await place(kind, "live");
    await claimer(at);
    const result = await (await open(at)).claim(SOURCE, IDENTITY, EMAIL, undefined);
    expect(result.claimed).toBe(false);
    expect((result as { until?: number }).until).toBeGreaterThan(Date.now());
  });

  it("is free at once once its holder was killed with SIGKILL, well inside the lease", async () => {
    const at = await place(kind, "killed");
    const child = await claimer(at);
    const claimedAt = Date.now();
    child.kill("SIGKILL");
    await once(child, "exit");
    const result = await (await open(at)).claim(SOURCE, IDENTITY, EMAIL, undefined);
    expect(result).toEqual({ claimed: true });
    expect(Date.now() - claimedAt).toBeLessThan(CLAIM_LEASE_MS);
  });
});

describe("file store claims another host holds, or that name no holder", () => {
  const KEY = `${SOURCE}\n${IDENTITY}\nwait\n${EMAIL.id}`;
  const claimFile = (dir: string) => join(dir, readdirSync(dir)[0] ?? "none");
  async function claimed(): Promise<{ dir: string; file: string }> {
    const dir = join((await place("file", "")).where, "wait-claims");
    // Ours first, so the directory and the claim's file exist; then it is rewritten as theirs.
    expect(await new FileClaims(dir, probe).take(KEY, 1_000, () => undefined)).toEqual({ claimed: true });
    return { dir, file: claimFile(dir) };
  }

  it("a holder on another host is waited out for its lease, then its claim is taken", async () => {
    const { dir, file } = await claimed();
    const elsewhere = { ...probe.self, pid: 1, host: `${probe.self.host}-other` };
    writeFileSync(
      file,
      JSON.stringify({ token: "theirs", until: 1_000 + CLAIM_LEASE_MS, holder: elsewhere }),
    );
    const other = new FileClaims(dir, probe);
    expect(await other.take(KEY, 2_000, () => undefined)).toEqual({
      claimed: false,
      until: 1_000 + CLAIM_LEASE_MS,
    });
    expect(await other.take(KEY, 1_000 + CLAIM_LEASE_MS, () => undefined)).toEqual({ claimed: true });
    expect(JSON.parse(readFileSync(file, "utf8")).holder.pid).toBe(process.pid);
  });

  it("a claim written before claims named their holder is kept for its lease", async () => {
    const { dir, file } = await claimed();
    writeFileSync(file, JSON.stringify({ token: "old", until: 1_000 + CLAIM_LEASE_MS }));
    const other = new FileClaims(dir, probe);
    expect(await other.take(KEY, 2_000, () => undefined)).toMatchObject({ claimed: false });
    expect(await other.take(KEY, 1_000 + CLAIM_LEASE_MS, () => undefined)).toEqual({ claimed: true });
  });
});

describe("a claim kept in the wait record (the Redis store) by a holder on another host", () => {
  it("is waited out for its lease, whatever that host's pid would mean here", () => {
    const by = { ...probe.self, pid: 1, host: `${probe.self.host}-other` };
    const claimedUntil = 1_000 + CLAIM_LEASE_MS;
    const record: StoredCursor = {
      source: SOURCE,
      identity: IDENTITY,
      consumer: "wait",
      cursor: 0,
      order: 0,
      returned: [{ ...EMAIL, until: claimedUntil, at: 1_000, by }],
      updatedAt: new Date(1_000).toISOString(),
    };
    expect(refusal(record, EMAIL, undefined, 2_000, probe)).toEqual({ claimed: false, until: claimedUntil });
    expect(refusal(record, EMAIL, undefined, claimedUntil, probe)).toBeUndefined();
  });
});
