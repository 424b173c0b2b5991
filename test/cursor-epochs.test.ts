import { type ChildProcess, execFile } from "node:child_process";
import { once } from "node:events";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type LocalServer, startLocalServer } from "./helpers/local-server.js";
import { sendWithNodemailer, sendWithPython } from "./helpers/smtp-client.js";
import { DIST_MAIN, freePort, requireDist, spawnInbox, tempDirsPerFile } from "./helpers/smtp-inbox.js";

const dir = tempDirsPerFile();
const raw = (to: string, subject: string, body: string) =>
  `From: shop@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

/** `node dist/main.js <args>` to completion: its exit code and stdout. */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DIST_MAIN, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 40_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the README's Try it flow", () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    }
  });

  it("finds each round's code, with a fresh inbox state dir every time, three times in a row", async () => {
    requireDist();
    // The README's ports are fixed (2525/2580); fixed free ones here, the same every round.
    const smtpPort = await freePort();
    const httpPort = await freePort();
    // The `wait` and `pull` commands keep their cursors in the user's state dir, which outlives the inboxes.
    const userState = await dir();
    const env = {
      MAIL_EVENTS_STATE_DIR: userState,
      MAIL_EVENTS_SMTP_PORT: String(smtpPort),
      MAIL_EVENTS_HTTP_PORT: String(httpPort),
    };
    for (const [round, code] of ["847293", "112233", "990011"].entries()) {
      const inbox = await spawnInbox(await dir(), {
        MAIL_EVENTS_SMTP_PORT: String(smtpPort),
        MAIL_EVENTS_HTTP_PORT: String(httpPort),
      });
      children.push(inbox.child);
      const waiting = cli(["wait", "me@example.com", "--timeout", "30"], env);
      await sendWithPython(smtpPort, {
        from: "shop@example.com",
        to: ["me@example.com"],
        raw: raw("me@example.com", "Your sign-in code", `Your code is ${code}.`),
      });
      const wait = await waiting;
      expect(wait.code, `round ${round + 1}: ${wait.stderr}`).toBe(0);
      expect(JSON.parse(wait.stdout).email.codes).toEqual([code]);
      // The pull loop's stored cursor belongs to the previous round's log: it starts over.
      const pull = await cli(["pull", "me@example.com"], env);
      expect(pull.code, pull.stderr).toBe(0);
      const page = JSON.parse(pull.stdout) as { events: { email: { subject: string } }[]; reset?: string };
      expect(page.events.map((e) => e.email.subject)).toEqual(["Your sign-in code"]);
      if (round > 0) {
        expect(page.reset).toMatch(/earlier log/);
        expect(pull.stderr).toMatch(/earlier log .*reading from the start of the current log/);
      }
      inbox.child.kill("SIGTERM");
      await once(inbox.child, "exit");
    }
  }, 90_000);
});

describe("cursors and the log's epoch", () => {
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const pull = (s: LocalServer, args: Record<string, unknown> = {}) =>
    s.ok<{ events: { email?: { subject?: string } }[]; cursor: number; reset?: string }>("pull_events", {
      identity: "me@example.com",
      ...args,
    });
  const mail = (s: LocalServer, subject: string) =>
    sendWithNodemailer(s.inbox.smtpPort, {
      from: "shop@example.com",
      to: ["me@example.com"],
      raw: raw("me@example.com", subject, "hello"),
    });

  it("reads a replaced log from its start, and says so once on stderr", async () => {
    const state = await dir();
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: state });
    for (const s of ["one", "two", "three"]) await mail(server, s);
    expect((await pull(server)).cursor).toBe(3);
    await server.close();
    // The inbox's log is gone (deleted by hand, a fresh machine image, …); the cursors stay.
    await rm(join(state, "inbox"), { recursive: true, force: true });
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: state });
    await mail(server, "after the new log");
    const page = await pull(server);
    expect(page.events.map((e) => e.email?.subject)).toEqual(["after the new log"]);
    expect(page.reset).toMatch(/earlier log/);
    await mail(server, "next");
    expect((await pull(server)).events.map((e) => e.email?.subject)).toEqual(["next"]);
    expect(server.log.lines.filter((l) => /earlier log/.test(l))).toHaveLength(1);
  });

  it("treats a stored cursor from beyond the log's end as no cursor", async () => {
    const state = await dir();
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: state });
    await mail(server, "one");
    await pull(server);
    await server.close();
    const file = join(state, "cursors.json");
    const stored = JSON.parse(await readFile(file, "utf8")) as {
      cursors: Record<string, { cursor: number; order: number }>;
    };
    for (const entry of Object.values(stored.cursors)) Object.assign(entry, { cursor: 40, order: 40 });
    await writeFile(file, JSON.stringify(stored));
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: state });
    await mail(server, "two");
    const page = await pull(server);
    expect(page.events.map((e) => e.email?.subject)).toEqual(["one", "two"]);
    expect(page.reset).toMatch(/beyond the end of the log/);
  });

  it("refuses set_cursor beyond the log's end, naming the end", async () => {
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: await dir() });
    await mail(server, "one");
    await mail(server, "two");
    const refused = await server.call("set_cursor", { identity: "me@example.com", cursor: 9 });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/beyond the end .*last seq is 2.*≤ 2/);
    await server.ok("set_cursor", { identity: "me@example.com", cursor: 1 });
    expect((await pull(server)).events.map((e) => e.email?.subject)).toEqual(["two"]);
  });
});
