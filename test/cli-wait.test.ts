import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { cliAgainstTestInbox } from "./helpers/cli-run.js";
import { sendWithPython } from "./helpers/smtp-client.js";

const { inbox: testInbox, cli } = cliAgainstTestInbox();

const send = (to: string, subject: string, body: string) =>
  sendWithPython(testInbox().inbox.smtpPort, {
    from: "ci@example.com",
    to: [to],
    raw: `From: CI <ci@example.com>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`,
  });

describe("mail-events-mcp wait | pull | cursor against the local inbox", () => {
  it("wait prints the code as JSON and exits 0 when the mail lands during the wait", async () => {
    const run = cli(["wait", "Signup@Example.com", "--timeout", "20"]);
    // The CLI's long-poll shows up as a parked reader (bounded: 4 s).
    for (let i = 0; i < 80; i++) {
      if (((await testInbox().get("/v1/health")).json.waiting as number) > 0) break;
      await sleep(50);
    }
    await send(
      "signup@example.com",
      "Your sign-up code",
      "Your code is 583920. Enter it to finish signing up.",
    );
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { found: boolean; email: { codes: string[]; subject: string } };
    expect(result.found).toBe(true);
    expect(result.email.codes).toEqual(["583920"]);
    expect(result.email.subject).toBe("Your sign-up code");
    expect(stderr).toMatch(/using the one already running/);
  });

  it("wait exits 1 with found: false when nothing arrives in time", async () => {
    const { code, stdout } = await cli(["wait", "quiet@example.com", "--timeout", "1"]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ found: false });
  });

  it("pull pages through the log and cursor reports where it stands", async () => {
    for (let i = 1; i <= 3; i++) await send("pull@example.com", `note ${i}`, `note ${i}`);
    const first = await cli(["pull", "pull@example.com", "--since", "0", "--limit", "2"]);
    expect(first.code, first.stderr).toBe(0);
    const page = JSON.parse(first.stdout) as { events: { email: { subject: string } }[]; hasMore: boolean };
    expect(page.events.map((e) => e.email.subject)).toEqual(["note 1", "note 2"]);
    expect(page.hasMore).toBe(true);
    const stored = JSON.parse((await cli(["cursor", "pull@example.com"])).stdout) as { cursor: number };
    const events = await testInbox().events("pull@example.com");
    expect(stored.cursor).toBe(events[1]?.seq);
    const rest = JSON.parse((await cli(["pull", "pull@example.com"])).stdout) as {
      events: { email: { subject: string } }[];
    };
    expect(rest.events.map((e) => e.email.subject)).toEqual(["note 3"]);
  });
});
