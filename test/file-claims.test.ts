import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLAIM_LEASE_MS } from "../src/cursors/claims.js";
import { FileClaims } from "../src/cursors/file-claims.js";
import { processProbe } from "../src/lock/process-probe.js";
import { tempDir } from "./helpers/harness.js";

// A wait's claim on an email is a file in the state directory's `wait-claims/` (see
// src/cursors/file-claims.ts). These tests hold claims in real child processes and kill them.

const CHILD = join(import.meta.dirname, "helpers", "lock-child.mjs");
const KEY = "local http://127.0.0.1:1\nme@example.com\nwait\nevt_1";
const probe = processProbe(process);
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const claimsDir = async () => {
  const dir = await tempDir("file-claims-");
  dirs.push(dir);
  return join(dir, "wait-claims");
};

/** A child process that takes the claim `KEY` in `dir` and holds it until killed. */
async function claimer(dir: string): Promise<ChildProcess> {
  const child = fork(CHILD, ["claim", dir, KEY], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  children.push(child);
  const [message] = await once(child, "message");
  expect(message).toBe("claimed");
  return child;
}

const claimFile = (dir: string) => {
  const [name] = readdirSync(dir);
  return join(dir, name ?? "none");
};

describe("file store wait claims", () => {
  it("a claim held by a live process is refused with its lease's end", async () => {
    const dir = await claimsDir();
    const child = await claimer(dir);
    const now = Date.now();
    const result = await new FileClaims(dir, probe).take(KEY, now, () => undefined);
    expect(result.claimed).toBe(false);
    expect(result).toMatchObject({ until: expect.any(Number) });
    expect((result as { until: number }).until).toBeGreaterThan(now);
    expect(JSON.parse(readFileSync(claimFile(dir), "utf8")).holder.pid).toBe(child.pid);
  });

  it("a claim whose holder was killed with SIGKILL is taken at once, not after the lease", async () => {
    const dir = await claimsDir();
    const child = await claimer(dir);
    child.kill("SIGKILL");
    await once(child, "exit");
    const left = JSON.parse(readFileSync(claimFile(dir), "utf8"));
    expect(left.until).toBeGreaterThan(Date.now()); // the lease has not lapsed
    // The same instant the lease still covers: only the holder's death frees it.
    const result = await new FileClaims(dir, probe).take(KEY, left.until - CLAIM_LEASE_MS, () => undefined);
    expect(result).toEqual({ claimed: true });
    expect(JSON.parse(readFileSync(claimFile(dir), "utf8")).holder.pid).toBe(process.pid);
  });

  it("a claim named by a process on another host is waited out for its lease, then taken", async () => {
    const dir = await claimsDir();
    const claims = new FileClaims(dir, probe);
    // Ours first, so the directory and the claim's file name exist; then hand it to "another host".
    expect(await claims.take(KEY, 1_000, () => undefined)).toEqual({ claimed: true });
    const path = claimFile(dir);
    const elsewhere = { ...probe.self, pid: 1, host: `${probe.self.host}-other` };
    writeFileSync(
      path,
      JSON.stringify({ token: "theirs", until: 1_000 + CLAIM_LEASE_MS, holder: elsewhere }),
    );
    const other = new FileClaims(dir, probe);
    expect(await other.take(KEY, 2_000, () => undefined)).toEqual({
      claimed: false,
      until: 1_000 + CLAIM_LEASE_MS,
    });
    expect(await other.take(KEY, 1_000 + CLAIM_LEASE_MS, () => undefined)).toEqual({ claimed: true });
  });

  it("a claim written before claims named their holder is kept for its lease", async () => {
    const dir = await claimsDir();
    const claims = new FileClaims(dir, probe);
    expect(await claims.take(KEY, 1_000, () => undefined)).toEqual({ claimed: true });
    writeFileSync(claimFile(dir), JSON.stringify({ token: "old", until: 1_000 + CLAIM_LEASE_MS }));
    const other = new FileClaims(dir, probe);
    expect(await other.take(KEY, 2_000, () => undefined)).toMatchObject({ claimed: false });
    expect(await other.take(KEY, 1_000 + CLAIM_LEASE_MS, () => undefined)).toEqual({ claimed: true });
  });
});
