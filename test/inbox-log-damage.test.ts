import { appendFile, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sendWithNodemailer, sendWithPython } from "./helpers/smtp-client.js";
import { startTestInbox, type TestInbox, tempDirsPerFile } from "./helpers/smtp-inbox.js";

const dir = tempDirsPerFile();

const raw = (subject: string) =>
  `From: sender@example.com\r\nTo: hurt@example.com\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

const epochOf = (id: unknown) => /^evt_([0-9a-z]+)_\d+$/.exec(String(id))?.[1];

async function send(t: TestInbox, subject: string): Promise<string> {
  const reply = await sendWithNodemailer(t.inbox.smtpPort, {
    from: "a@example.com",
    to: ["hurt@example.com"],
    raw: raw(subject),
  });
  return /stored as (evt_\S+)/.exec(reply)?.[1] as string;
}

/** An inbox that took three mails, then stopped: returns its state dir, log path and ids. */
async function logWithThree() {
  const stateDir = await dir();
  const t = await startTestInbox({ stateDir });
  const ids = [await send(t, "one"), await send(t, "two"), await send(t, "three")];
  await t.close();
  return { stateDir, file: join(stateDir, "inbox", "events.jsonl"), ids, epoch: epochOf(ids[0]) };
}

const warnings = (t: TestInbox) => t.log.lines.filter((l) => l.startsWith("warn:"));
const subjects = async (t: TestInbox) =>
  (await t.events("hurt@example.com")).map((e) => (e.data as { subject: string }).subject);
const asideFiles = async (stateDir: string) =>
  (await readdir(join(stateDir, "inbox"))).filter(
    (n) => n.startsWith("events.jsonl.corrupt-") && !n.endsWith(".messages"),
  );

describe("a damaged inbox log", () => {
  it("sets a log with a garbled record aside, says so once, and goes on under a new epoch", async () => {
    const { stateDir, file, epoch } = await logWithThree();
    const lines = (await readFile(file, "utf8")).split("\n");
    lines[2] = `${lines[2]?.slice(0, 30)}\u0000\u0000garbage`; // the second record
    await writeFile(file, lines.join("\n"));
    const t = await startTestInbox({ stateDir });
    try {
      expect(warnings(t)).toHaveLength(1);
      expect(warnings(t)[0]).toMatch(
        /1 unreadable line.*may be lost.*copy is kept as .*corrupt-\d+.*new epoch/,
      );
      expect(await asideFiles(stateDir)).toHaveLength(1);
      const events = await t.events("hurt@example.com");
      expect(events.map((e) => (e.data as { subject: string }).subject)).toEqual(["one", "three"]);
      const newEpoch = epochOf(events[0]?.id);
      expect(newEpoch).not.toBe(epoch);
      // Epochs are time-ordered: the new one sorts after the one it replaced.
      expect((newEpoch as string) > (epoch as string)).toBe(true);
      const next = await send(t, "four");
      expect(epochOf(next)).toBe(newEpoch);
      expect(Number(next.split("_")[2])).toBeGreaterThan(3);
    } finally {
      await t.close();
    }
  });

  it("keeps a copy of a log that is all garbage instead of silently rewriting it", async () => {
    const { stateDir, file, epoch } = await logWithThree();
    await writeFile(file, "this is not a log at all\nnor is this\n");
    const t = await startTestInbox({ stateDir });
    try {
      expect(warnings(t)).toHaveLength(1);
      expect(warnings(t)[0]).toMatch(/no readable header line.*may be lost.*corrupt-\d+.*new epoch/);
      const [aside] = await asideFiles(stateDir);
      expect(await readFile(join(stateDir, "inbox", aside as string), "utf8")).toMatch(/not a log at all/);
      expect(await subjects(t)).toEqual([]);
      // The stored raw messages of the lost records are kept aside too.
      const kept = await readdir(join(stateDir, "inbox", `${aside}.messages`));
      expect(kept).toHaveLength(3);
      expect(epochOf(await send(t, "four"))).not.toBe(epoch);
    } finally {
      await t.close();
    }
  });

  it("warns about a zeroed log, keeps it aside and starts a new epoch", async () => {
    const { stateDir, file, epoch } = await logWithThree();
    const { size } = await stat(file);
    await writeFile(file, Buffer.alloc(size));
    const t = await startTestInbox({ stateDir });
    try {
      expect(warnings(t)).toHaveLength(1);
      expect(warnings(t)[0]).toMatch(new RegExp(`all zero bytes \\(${size}\\).*new epoch`));
      expect(await asideFiles(stateDir)).toHaveLength(1);
      expect(epochOf(await send(t, "four"))).not.toBe(epoch);
    } finally {
      await t.close();
    }
  });

  it("warns when the log was deleted or emptied while the inbox directory stayed, and starts a new epoch", async () => {
    for (const damage of ["delete", "empty"] as const) {
      const { stateDir, file, epoch } = await logWithThree();
      if (damage === "delete") await rm(file);
      else await truncate(file, 0);
      const t = await startTestInbox({ stateDir });
      try {
        expect(warnings(t), damage).toHaveLength(1);
        expect(warnings(t)[0]).toMatch(
          damage === "delete" ? /is missing.*mail is lost.*new epoch/ : /was empty.*new epoch/,
        );
        expect(epochOf(await send(t, "four"))).not.toBe(epoch);
      } finally {
        await t.close();
      }
    }
  });

  it("drops a torn last line without claiming it was never acknowledged, and never reuses its seq", async () => {
    const { stateDir, file, epoch } = await logWithThree();
    await appendFile(file, '{"seq":4,"id":"evt_x_4","type":"email.rec');
    const t = await startTestInbox({ stateDir });
    try {
      expect(warnings(t)).toHaveLength(1);
      const [warning] = warnings(t);
      expect(warning).toMatch(/dropped an incomplete last line.*seq 4.*saved as .*corrupt-\d+\.tail/);
      expect(warning).not.toMatch(/never acknowledged/);
      expect((await readFile(file, "utf8")).endsWith("\n")).toBe(true);
      expect(await subjects(t)).toEqual(["one", "two", "three"]);
      // A crash mid-append loses no acknowledged mail: the epoch stays, seq 4 is skipped.
      const next = await send(t, "four");
      expect(epochOf(next)).toBe(epoch);
      expect(next.endsWith("_5")).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("restores a last record that only lost its line end", async () => {
    const { stateDir, file, ids } = await logWithThree();
    const text = await readFile(file, "utf8");
    await writeFile(file, text.slice(0, -1));
    const t = await startTestInbox({ stateDir });
    try {
      expect(await subjects(t)).toEqual(["one", "two", "three"]);
      const next = await send(t, "four");
      expect(epochOf(next)).toBe(epochOf(ids[2]));
      expect(next.endsWith("_4")).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe("raw messages stored apart from the log", () => {
  it("keeps each message's exact bytes beside a bounded event, and drops them with retention", async () => {
    const stateDir = await dir();
    const t = await startTestInbox({ stateDir, retention: { perIdentity: 3, total: 3 } });
    try {
      const bytes = `From: a@example.com\r\nTo: raw@example.com\r\nSubject: raw\r\nX-Odd: \u00e9\r\n\r\nline\r\n`;
      await sendWithPython(t.inbox.smtpPort, { from: "a@example.com", to: ["raw@example.com"], raw: bytes });
      const [event] = (await t.events("raw@example.com")) as [Record<string, unknown>];
      const ref = (event.data as { raw: { file: string; size: number; sha256: string } }).raw;
      const stored = (await t.inbox.rawMessage?.(String(event.id))) as Buffer;
      expect(stored.toString("utf8")).toBe(bytes);
      expect(ref.size).toBe(stored.length);
      const { createHash } = await import("node:crypto");
      expect(ref.sha256).toBe(createHash("sha256").update(stored).digest("hex"));
      for (let i = 0; i < 5; i++) await send(t, `more ${i}`);
      const messages = join(stateDir, "inbox", "messages");
      // Retention keeps 3 records; their raw files and no others stay.
      for (let i = 0; i < 50 && (await readdir(messages)).length > 3; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await readdir(messages)).toHaveLength(3);
      expect(await t.inbox.rawMessage?.(String(event.id))).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
