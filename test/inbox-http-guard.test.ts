import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { ensureInbox } from "../src/inbox/index.js";
import { probeHealth } from "../src/inbox/lifecycle/health.js";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { inboxPerTest, memoryLogger, type TestInbox, tempDirsPerFile } from "./helpers/smtp-inbox.js";

const inbox = inboxPerTest();
const dir = tempDirsPerFile();

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/** A request with exactly the headers given (fetch cannot set Host), as a browser would send. */
function raw(
  t: TestInbox,
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<RawAnswer> {
  const port = Number(new URL(t.inbox.httpUrl).port);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          json = { raw: body };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const anyCorsHeader = (headers: RawAnswer["headers"]) =>
  Object.keys(headers).filter((h) => h.startsWith("access-control-"));

async function withMail(t: TestInbox): Promise<void> {
  await sendWithNodemailer(t.inbox.smtpPort, {
    from: "bank@example.com",
    to: ["victim@example.com"],
    raw: "From: bank@example.com\r\nTo: victim@example.com\r\nSubject: Your code is 771234\r\n\r\ncode 771234\r\n",
  });
}

describe("the local inbox's HTTP refuses pages that are not its own", () => {
  it("answers 403 with a JSON error to a DNS-rebinding Host, and reveals no mail", async () => {
    const t = await inbox();
    await withMail(t);
    const path = "/v1/identities/%2A/events?since=0";
    for (const host of [
      "evil.example",
      "evil.example:2580",
      "127.0.0.1.evil.example",
      "localhost.evil.example",
    ]) {
      const answer = await raw(t, path, { host });
      expect(answer.status, host).toBe(403);
      expect(answer.json.error, host).toMatch(/addressed to it/);
      expect(JSON.stringify(answer.json)).not.toContain("771234");
    }
    const health = await raw(t, "/v1/health", { host: "attacker.test" });
    expect(health.status).toBe(403);
  });

  it("serves 127.0.0.1 and localhost with or without the port", async () => {
    const t = await inbox();
    await withMail(t);
    const port = new URL(t.inbox.httpUrl).port;
    for (const host of ["127.0.0.1", `127.0.0.1:${port}`, "localhost", `LOCALHOST:${port}`]) {
      const answer = await raw(t, "/v1/identities/victim%40example.com/events?since=0", { host });
      expect(answer.status, host).toBe(200);
      expect(JSON.stringify(answer.json), host).toContain("771234");
    }
  });

  it("refuses a request another web site's page makes, and sends no CORS headers", async () => {
    const t = await inbox();
    await withMail(t);
    const port = new URL(t.inbox.httpUrl).port;
    const host = `127.0.0.1:${port}`;
    const foreign = await raw(t, "/v1/identities/%2A/events?since=0", {
      host,
      origin: "https://evil.example",
    });
    expect(foreign.status).toBe(403);
    expect(JSON.stringify(foreign.json)).not.toContain("771234");
    expect(anyCorsHeader(foreign.headers)).toEqual([]);
    const own = await raw(t, "/v1/identities/%2A/events?since=0", { host, origin: `http://${host}` });
    expect(own.status).toBe(200);
    expect(anyCorsHeader(own.headers)).toEqual([]);
    const preflight = await raw(
      t,
      "/v1/identities/%2A/messages",
      { host, origin: "https://evil.example", "access-control-request-method": "DELETE" },
      "OPTIONS",
    );
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    expect(anyCorsHeader(preflight.headers)).toEqual([]);
    const plainPreflight = await raw(t, "/v1/health", { host }, "OPTIONS");
    expect(plainPreflight.status).toBeGreaterThanOrEqual(400);
    expect(anyCorsHeader(plainPreflight.headers)).toEqual([]);
  });

  it("tells only token holders more than ok/service/version on /v1/health", async () => {
    const t = await inbox({ token: "s3cret-token" });
    const bare = await raw(t, "/v1/health", { host: "127.0.0.1" });
    expect(bare.status).toBe(200);
    expect(Object.keys(bare.json).sort()).toEqual(["ok", "service", "version"]);
    const full = await raw(t, "/v1/health", { host: "127.0.0.1", authorization: "Bearer s3cret-token" });
    expect(full.json).toMatchObject({ ok: true, smtpPort: t.inbox.smtpPort, pid: expect.any(Number) });
  });

  it("still lets a second server recognise the running inbox, with or without a token", async () => {
    const open = await inbox();
    const port = Number(new URL(open.inbox.httpUrl).port);
    expect(await probeHealth("127.0.0.1", port, 2_000)).toMatchObject({
      kind: "inbox",
      health: { smtpPort: open.inbox.smtpPort },
    });
    const locked = await inbox({ token: "tok-1234" });
    const lockedPort = Number(new URL(locked.inbox.httpUrl).port);
    expect(await probeHealth("127.0.0.1", lockedPort, 2_000, "tok-1234")).toMatchObject({
      kind: "inbox",
      health: { smtpPort: locked.inbox.smtpPort },
    });
    expect(await probeHealth("127.0.0.1", lockedPort, 2_000)).toMatchObject({ kind: "locked" });
  });

  it("lets a server with the inbox's token share it, and tells one with another token what to set", async () => {
    const running = await inbox({ token: "tok-shared-1" });
    const ports = { smtpPort: running.inbox.smtpPort, httpPort: Number(new URL(running.inbox.httpUrl).port) };
    const shared = await ensureInbox({
      ...ports,
      stateDir: await dir(),
      log: memoryLogger(),
      token: "tok-shared-1",
    });
    expect(shared).toMatchObject({ owned: false, smtpPort: running.inbox.smtpPort });
    await expect(
      ensureInbox({ ...ports, stateDir: await dir(), log: memoryLogger(), token: "tok-other" }),
    ).rejects.toThrow(/does not take our token; set MAIL_EVENTS_TOKEN/);
  });
});
