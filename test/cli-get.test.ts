import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { cliAgainstTestInbox } from "./helpers/cli-run.js";
import { sendWithPython } from "./helpers/smtp-client.js";
import { DIST_MAIN, spawnInbox, tempDir } from "./helpers/smtp-inbox.js";

const { inbox: testInbox, cli } = cliAgainstTestInbox();

describe("mail-events-mcp get <id>", () => {
  it("prints one email in full as JSON, cc and attachment included", async () => {
    const boundary = "b1";
    await sendWithPython(testInbox().inbox.smtpPort, {
      from: "ci@example.com",
      to: ["get@example.com"],
      raw:
        `From: CI <ci@example.com>\r\nTo: get@example.com\r\nCc: lead@example.com\r\nSubject: Report\r\n` +
        `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=${boundary}\r\n\r\n` +
        `--${boundary}\r\nContent-Type: text/plain\r\n\r\nYour code is 604812.\r\n` +
        `--${boundary}\r\nContent-Type: text/csv; name=r.csv\r\nContent-Disposition: attachment; filename=r.csv\r\n\r\na,b\r\n1,2\r\n` +
        `--${boundary}--\r\n`,
    });
    const events = await testInbox().events("get@example.com");
    const id = events[0]?.id as string;
    const { code, stdout, stderr } = await cli(["get", id]);
    expect(code, stderr).toBe(0);
    const { email } = JSON.parse(stdout) as {
      email: { id: string; cc: string[]; codes: string[]; attachments: { filename: string; url: string }[] };
    };
    expect(email.id).toBe(id);
    expect(email.cc).toEqual(["lead@example.com"]);
    expect(email.codes).toEqual(["604812"]);
    expect(email.attachments[0]?.filename).toBe("r.csv");
    expect(await (await fetch(email.attachments[0]?.url as string)).text()).toBe("a,b\r\n1,2");
  });

  it("names the id when there is no such email, and exits non-zero without a stack trace", async () => {
    const { code, stderr } = await cli(["get", "evt_nope_42"]);
    expect(code).not.toBe(0);
    expect(stderr).toContain("evt_nope_42");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("says what it needs when the id is missing", async () => {
    const { code, stderr } = await cli(["get"]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/get <id>/);
  });
});

describe("MAIL_EVENTS_LISTEN and MAIL_EVENTS_INBOX_TOKEN on the built bin", () => {
  it("refuses to bind past loopback without a token, in one line naming MAIL_EVENTS_INBOX_TOKEN", async () => {
    const stateDir = await tempDir();
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [DIST_MAIN, "inbox"],
        {
          timeout: 20_000,
          env: {
            PATH: process.env.PATH ?? "",
            MAIL_EVENTS_STATE_DIR: stateDir,
            MAIL_EVENTS_SMTP_PORT: "0",
            MAIL_EVENTS_HTTP_PORT: "0",
            MAIL_EVENTS_LISTEN: "0.0.0.0",
          },
        },
        (error, _stdout, stderr) =>
          resolve({ code: typeof error?.code === "number" ? error.code : 0, stderr }),
      );
    });
    await rm(stateDir, { recursive: true, force: true });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("MAIL_EVENTS_INBOX_TOKEN");
  });

  it("binds all interfaces with a token and serves only its holder", async () => {
    const stateDir = await tempDir();
    const inbox = await spawnInbox(stateDir, {
      MAIL_EVENTS_LISTEN: "0.0.0.0",
      MAIL_EVENTS_INBOX_TOKEN: "net-token-1",
    });
    try {
      const port = new URL(inbox.httpUrl).port;
      const url = `http://127.0.0.1:${port}/v1/messages`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: "Bearer net-token-1" } })).status).toBe(200);
    } finally {
      inbox.child.kill();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
