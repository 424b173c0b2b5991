import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdir, rm, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { requireDist, spawnInbox, tempDir } from "./helpers/smtp-inbox.js";

/*
 * A full disk, for real: a 2 MiB tmpfs mounted for this file. Mounting needs root (CI runs
 * as root); elsewhere the test is skipped, and says so.
 */
const root = process.getuid?.() === 0;
if (!root) console.warn("inbox-disk-full: SKIPPED — mounting a small tmpfs needs root (CI runs as root)");

let mountPoint = "";
let mounted = false;

beforeAll(async () => {
  if (!root) return;
  requireDist();
  mountPoint = await tempDir("mail-events-tmpfs-");
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]);
  mounted = true;
});
afterAll(async () => {
  if (mounted) execFileSync("umount", [mountPoint]);
  if (mountPoint) await rm(mountPoint, { recursive: true, force: true });
});

const raw = (subject: string, body = "Your code is 123456.") =>
  `From: shop@example.com\r\nTo: full@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

interface Outcome {
  subject: string;
  code: number;
  reply: string;
}

async function send(port: number, subject: string, body?: string): Promise<Outcome> {
  try {
    const reply = await sendWithNodemailer(port, {
      from: "shop@example.com",
      to: ["full@example.com"],
      raw: raw(subject, body),
    });
    return { subject, code: Number(reply.slice(0, 3)), reply };
  } catch (error) {
    const e = error as { responseCode?: number; response?: string; message: string };
    return { subject, code: e.responseCode ?? 0, reply: e.response ?? e.message };
  }
}

/** Fills the filesystem up to `leave` free bytes with one file. */
async function fill(dir: string, leave: number): Promise<string> {
  const file = join(dir, "filler");
  const { bavail, bsize } = await statfs(dir);
  await writeFile(file, Buffer.alloc(Math.max(0, bavail * bsize - leave)));
  return file;
}

async function allEvents(httpUrl: string): Promise<{ seq: number; id: string; subject: string }[]> {
  const res = await fetch(`${httpUrl}/v1/identities/full%40example.com/events?since=0&limit=200`);
  const json = (await res.json()) as { events: { seq: number; id: string; data: { subject: string } }[] };
  return json.events.map((e) => ({ seq: e.seq, id: e.id, subject: e.data.subject }));
}

describe.skipIf(!root)("the local inbox on a full disk", () => {
  it("answers 4xx instead of 250 when the disk is full, and keeps every acknowledged mail across a restart", async () => {
    const stateDir = join(mountPoint, "state");
    await mkdir(stateDir);
    const first = await spawnInbox(stateDir);
    const outcomes: Outcome[] = [];
    try {
      for (let i = 0; i < 3; i++) outcomes.push(await send(first.smtpPort, `before ${i}`));
      expect(outcomes.map((o) => o.code)).toEqual([250, 250, 250]);
      const filler = await fill(mountPoint, 24 * 1024);
      // Each mail takes a page for its raw file and a line in the log: the space runs out
      // within a few dozen, at whatever byte it runs out.
      for (let i = 0; i < 60 && !outcomes.some((o) => o.code >= 400); i++) {
        outcomes.push(
          await send(first.smtpPort, `filling ${i}`, `Your code is 123456. ${"padding ".repeat(200)}`),
        );
      }
      const refused = outcomes.filter((o) => o.code >= 400);
      expect(refused.length, JSON.stringify(outcomes.slice(-3))).toBeGreaterThan(0);
      for (const o of refused) expect([451, 452]).toContain(o.code);
      expect(refused.some((o) => o.code === 452 && /disk is full/.test(o.reply))).toBe(true);
      // A message large enough to be spooled to disk while it arrives is refused too.
      const big = await send(first.smtpPort, "big while full", "x".repeat(76).concat("\r\n").repeat(20_000));
      expect(big.code).toBe(452);
      await rm(filler);
      for (let i = 0; i < 3; i++) outcomes.push(await send(first.smtpPort, `after ${i}`));
      expect(outcomes.slice(-3).map((o) => o.code)).toEqual([250, 250, 250]);
    } finally {
      first.child.kill("SIGKILL");
      await once(first.child, "exit").catch(() => {});
    }
    const second = await spawnInbox(stateDir);
    try {
      const events = await allEvents(second.httpUrl);
      const byId = new Map(events.map((e) => [e.id, e]));
      for (const o of outcomes.filter((x) => x.code === 250)) {
        const id = /stored as (evt_\S+)/.exec(o.reply)?.[1] as string;
        expect(byId.get(id)?.subject, `${o.subject} (${id})`).toBe(o.subject);
      }
      const refusedSubjects = new Set(outcomes.filter((o) => o.code >= 400).map((o) => o.subject));
      expect(events.filter((e) => refusedSubjects.has(e.subject))).toEqual([]);
      const seqs = events.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(second.stderr()).not.toMatch(/unreadable|incomplete|corrupt/);
      // The next mail after the restart takes a seq no acknowledged mail ever had.
      const next = await send(second.smtpPort, "after restart");
      expect(next.code).toBe(250);
      const seq = Number(/_(\d+)$/.exec(/stored as (evt_\S+)/.exec(next.reply)?.[1] ?? "")?.[1]);
      expect(seq).toBeGreaterThan(Math.max(...seqs));
    } finally {
      second.child.kill("SIGTERM");
      await once(second.child, "exit").catch(() => {});
    }
  });
});
