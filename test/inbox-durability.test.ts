import { once } from "node:events";
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { pooledTransport, sendWithNodemailer } from "./helpers/smtp-client.js";
import { requireDist, spawnInbox, startTestInbox, tempDirsPerFile } from "./helpers/smtp-inbox.js";

beforeAll(() => requireDist());
const dir = tempDirsPerFile();

const raw = (to: string, subject: string) =>
  `From: sender@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nbody ${subject}\r\n`;

async function allEvents(httpUrl: string, identity: string): Promise<{ seq: number; subject: string }[]> {
  const out: { seq: number; subject: string }[] = [];
  let since = 0;
  for (let page = 0; page < 20; page++) {
    const res = await fetch(
      `${httpUrl}/v1/identities/${encodeURIComponent(identity)}/events?since=${since}&limit=200`,
    );
    const json = (await res.json()) as {
      events: { seq: number; data: { subject: string } }[];
      cursor: number;
      hasMore: boolean;
    };
    for (const e of json.events) out.push({ seq: e.seq, subject: e.data.subject });
    since = json.cursor;
    if (!json.hasMore) break;
  }
  return out;
}

describe("the local inbox's log survives crashes", () => {
  it("keeps every message acknowledged before a kill -9, and seq continues after restart", async () => {
    const stateDir = await dir();
    const first = await spawnInbox(stateDir);
    const transport = pooledTransport(first.smtpPort, 6);
    const acked: string[] = [];
    let killed = false;
    let onKill = () => {};
    const killedNow = new Promise<void>((resolve, reject) => {
      onKill = resolve;
      setTimeout(
        () => reject(new Error(`only ${acked.length} of 100 messages acknowledged in 15 s`)),
        15_000,
      );
    });
    for (let i = 0; i < 300; i++) {
      transport
        .sendMail({
          envelope: { from: "sender@example.com", to: ["crash@example.com"] },
          raw: raw("x", `m${i}`),
        })
        .then(() => {
          if (killed) return;
          acked.push(`m${i}`);
          // Right after the 100th 250 reply, with more messages in flight.
          if (acked.length === 100) {
            killed = true;
            first.child.kill("SIGKILL");
            onKill();
          }
        })
        .catch(() => undefined); // the ones in flight at the kill fail; that is the point
    }
    await killedNow;
    transport.close();
    if (first.child.exitCode === null && first.child.signalCode === null) await once(first.child, "exit");
    expect(first.child.signalCode).toBe("SIGKILL");
    expect(acked.length).toBe(100);

    const second = await spawnInbox(stateDir);
    try {
      const events = await allEvents(second.httpUrl, "crash@example.com");
      const stored = new Set(events.map((e) => e.subject));
      for (const subject of acked) expect(stored.has(subject), subject).toBe(true);
      const seqs = events.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      await sendWithNodemailer(second.smtpPort, {
        from: "sender@example.com",
        to: ["crash@example.com"],
        raw: raw("x", "after restart"),
      });
      const after = await allEvents(second.httpUrl, "crash@example.com");
      expect(after.at(-1)).toEqual({ seq: (seqs.at(-1) as number) + 1, subject: "after restart" });
    } finally {
      second.child.kill("SIGTERM");
      await once(second.child, "exit");
    }
  });

  it("drops a torn last line and sets a garbled one aside with warnings, never crashing", async () => {
    const stateDir = await dir();
    const t = await startTestInbox({ stateDir });
    for (const s of ["one", "two"]) {
      await sendWithNodemailer(t.inbox.smtpPort, {
        from: "a@example.com",
        to: ["torn@example.com"],
        raw: raw("x", s),
      });
    }
    await t.close();
    const file = join(stateDir, "inbox", "events.jsonl");
    await appendFile(file, 'this line is not JSON\n{"seq":3,"id":"evt_x_3","type":"email.rec');
    const again = await startTestInbox({ stateDir });
    try {
      // Damage among the records: set aside, and the rewrite under a new epoch drops the torn tail.
      expect(again.log.lines.join("\n")).toMatch(/1 unreadable line.*new epoch/);
      const events = await again.events("torn@example.com");
      expect(events.map((e) => e.seq)).toEqual([1, 2]);
      expect((await readFile(file, "utf8")).endsWith("\n")).toBe(true);
      await sendWithNodemailer(again.inbox.smtpPort, {
        from: "a@example.com",
        to: ["torn@example.com"],
        raw: raw("x", "three"),
      });
      const after = await again.events("torn@example.com");
      // seq 3 was named by the torn line: it is never used again.
      expect(after.map((e) => e.seq)).toEqual([1, 2, 4]);
    } finally {
      await again.close();
    }
  });

  it("keeps only the newest events per identity, compacts the file, and never reuses a seq", async () => {
    const stateDir = await dir();
    const options = { stateDir, retention: { perIdentity: 5, total: 1_000 }, compactMinBytes: 1 };
    const t = await startTestInbox(options);
    for (let i = 1; i <= 12; i++) {
      await sendWithNodemailer(t.inbox.smtpPort, {
        from: "a@example.com",
        to: ["keep@example.com"],
        raw: raw("x", `k${i}`),
      });
    }
    expect((await t.events("keep@example.com")).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    await t.close();
    const lines = (await readFile(join(stateDir, "inbox", "events.jsonl"), "utf8")).trim().split("\n");
    expect(lines.length).toBeLessThanOrEqual(1 + 10); // header + live records (+ dead ones not yet compacted)
    const again = await startTestInbox(options);
    try {
      expect((await again.events("keep@example.com")).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
      await sendWithNodemailer(again.inbox.smtpPort, {
        from: "a@example.com",
        to: ["keep@example.com"],
        raw: raw("x", "k13"),
      });
      expect((await again.events("keep@example.com")).map((e) => e.seq)).toEqual([9, 10, 11, 12, 13]);
    } finally {
      await again.close();
    }
  });
});
