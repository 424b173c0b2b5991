import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { withLock } from "../src/cursors/durable-file.js";
import { type LockHolder, tryLock } from "../src/lock/pid-lock.js";
import { processProbe } from "../src/lock/process-probe.js";
import { tempDir } from "./helpers/harness.js";
import { until } from "./helpers/until.js";

const CHILD = join(import.meta.dirname, "helpers", "lock-child.mjs");
const probe = processProbe(process);
const dirs: string[] = [];
const children: ChildProcess[] = [];
const newDir = async () => {
  const dir = await tempDir("pid-lock-");
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A child process holding `lock` until told to release it (it then writes `marker`). */
async function holder(lock: string, marker = `${lock}.released`): Promise<ChildProcess> {
  const child = fork(CHILD, ["hold", lock, marker], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  children.push(child);
  const [message] = await once(child, "message");
  expect(message).toBe("held");
  return child;
}

const contentOf = (lock: string) => JSON.parse(readFileSync(lock, "utf8")) as LockHolder;

/** pid 1's real start marker, read the way the probe reads it (undefined without /proc). */
function startOfPid1(): string | undefined {
  try {
    const stat = readFileSync("/proc/1/stat", "utf8");
    const starttime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return `${boot}:${starttime}`;
  } catch {
    return undefined;
  }
}

describe("cross-process lock file", () => {
  it("a lock whose holder was killed with SIGKILL is taken by the next process at once", async () => {
    const lock = join(await newDir(), "cursors.json.lock");
    const child = await holder(lock);
    child.kill("SIGKILL");
    await once(child, "exit");
    const left = contentOf(lock);
    expect(left.pid).toBe(child.pid);
    expect(probe.isRunning(left)).toBe(false);

    // One try, no waiting: a dead holder on this host needs no stale timeout.
    const tried = tryLock(lock, { probe });
    expect(tried.lock).toBeDefined();
    expect(contentOf(lock).pid).toBe(process.pid);
    tried.lock?.release();
    expect(existsSync(lock)).toBe(false);
  });

  it("a live holder in another process is respected: a second taker is told who holds it", async () => {
    const lock = join(await newDir(), "cursors.json.lock");
    const child = await holder(lock);
    const tried = tryLock(lock, { probe });
    expect(tried.lock).toBeUndefined();
    expect(tried.holder?.pid).toBe(child.pid);
    const error = await withLock(lock, () => "never", 200).catch((e: Error) => e);
    expect(error).toMatchObject({ code: "CURSOR_STORE" });
    expect((error as Error).message).toMatch(
      new RegExp(`lock file .*cursors\\.json\\.lock stayed held by process ${child.pid} on host .*delete`),
    );
    expect(contentOf(lock).pid).toBe(child.pid);
  });

  it("a waiting taker gets the lock once its live holder releases it", async () => {
    const dir = await newDir();
    const lock = join(dir, "groups.json.lock");
    const marker = join(dir, "released");
    const child = await holder(lock, marker);
    const taken = withLock(lock, () => existsSync(marker));
    child.send("release");
    // The section ran only after the holder had decided to let go.
    expect(await taken).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  it("a lock left by a pid now used by another process (a different start time) is taken over", async () => {
    const pid1Start = startOfPid1();
    if (pid1Start === undefined) return; // no /proc: the pid alone decides
    const lock = join(await newDir(), "cursors.json.lock");
    const left = (start: string): string =>
      JSON.stringify({ pid: 1, host: hostname(), pidns: probe.self.pidns, start, acquiredAt: "then" });

    // pid 1 runs, but it is not the process that took this lock.
    writeFileSync(lock, left(`${pid1Start}0`));
    const recycled = tryLock(lock, { probe });
    expect(recycled.lock).toBeDefined();
    recycled.lock?.release();

    // The same pid with its real start marker still holds it.
    writeFileSync(lock, left(pid1Start));
    const live = tryLock(lock, { probe });
    expect(live.lock).toBeUndefined();
    expect(live.holder?.pid).toBe(1);
  });

  it("four processes incrementing one counter 200 times each under the lock never lose an update", async () => {
    const dir = await newDir();
    const lock = join(dir, "counter.lock");
    const counter = join(dir, "counter");
    const workers = [1, 2, 3, 4].map(() => {
      const child = fork(CHILD, ["count", lock, counter, "200"], {
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
      children.push(child);
      return once(child, "exit").then(([code]) => code);
    });
    expect(await Promise.all(workers)).toEqual([0, 0, 0, 0]);
    expect(Number(readFileSync(counter, "utf8"))).toBe(800);
    expect(existsSync(lock)).toBe(false);
  }, 120_000);

  it("a lock from another host is respected while fresh and taken over once its mtime is stale", async () => {
    const lock = join(await newDir(), "cursors.json.lock");
    writeFileSync(lock, JSON.stringify({ pid: 4242, host: "other-host", start: null, acquiredAt: "now" }));
    const fresh = tryLock(lock, { probe, staleMs: 60_000 });
    expect(fresh.holder?.host).toBe("other-host");
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    const stale = tryLock(lock, { probe, staleMs: 60_000 });
    expect(stale.lock).toBeDefined();
    stale.lock?.release();
  });

  it("a long-held lock keeps its mtime fresh, so other hosts do not take it", async () => {
    const lock = join(await newDir(), "inbox.lock");
    const tried = tryLock(lock, { probe, refresh: true, staleMs: 60 });
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    await until(
      () => statSync(lock).mtimeMs > old.getTime() + 60_000,
      10_000,
      "the lock's mtime to be refreshed",
    );
    tried.lock?.release();
  });

  it("a lock directory left by 0.1.0 (proper-lockfile) is taken over once it is 2 s old", async () => {
    const lock = join(await newDir(), "cursors.json.lock");
    mkdirSync(lock);
    expect(tryLock(lock, { probe }).lock).toBeUndefined();
    const old = new Date(Date.now() - 10_000);
    utimesSync(lock, old, old);
    const tried = tryLock(lock, { probe });
    expect(tried.lock).toBeDefined();
    tried.lock?.release();
  });

  it("release is idempotent and never removes a lock that is no longer its own", async () => {
    const lock = join(await newDir(), "cursors.json.lock");
    const tried = tryLock(lock, { probe });
    const other = JSON.stringify({ pid: 4242, host: "other-host", start: null, acquiredAt: "later" });
    writeFileSync(lock, other); // taken over meanwhile (say, from another host after a pause)
    tried.lock?.release();
    tried.lock?.release();
    expect(readFileSync(lock, "utf8")).toBe(other);
  });

  it("a second taker in the same process is turned away while the lock is held", async () => {
    const lock = join(await newDir(), "inbox.lock");
    const first = tryLock(lock, { probe });
    const second = tryLock(lock, { probe });
    expect(second.lock).toBeUndefined();
    expect(second.holder?.pid).toBe(process.pid);
    first.lock?.release();
    const third = tryLock(lock, { probe });
    expect(third.lock).toBeDefined();
    third.lock?.release();
  });
});
