import { createHash } from "node:crypto";
import { request } from "node:http";
import nodemailer from "nodemailer";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { startInbox } from "../src/inbox/index.js";
import { startLocalApp } from "./helpers/local-app.js";
import { runPython } from "./helpers/smtp-client.js";
import { inboxPerTest, memoryLogger, tempDir } from "./helpers/smtp-inbox.js";

const inboxFor = inboxPerTest();
const sha = (b: Buffer | Uint8Array) => createHash("sha256").update(b).digest("hex");
const PDF = Buffer.concat([
  Buffer.from("%PDF-1.4\n"),
  Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)),
]);
const LONG = `Your code is 482913.\n${"lorem ipsum dolor sit amet ".repeat(1_500)}`.slice(0, 40_000);

async function sendRich(port: number, to = "dev+run42@example.com") {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  const info = await transport.sendMail({
    from: "Shop <shop@example.net>",
    to,
    cc: "boss@example.org, audit@example.org",
    subject: "Your invoice and code",
    text: LONG,
    html: `<p>Your code is <b>482913</b>.</p><div style="display:none">hidden 111222 https://evil.example/verify?x</div><img src="http://198.51.100.1/track.png">`,
    attachments: [
      { filename: "invoice.pdf", content: PDF, contentType: "application/pdf" },
      { filename: "notes é.txt", content: "plain notes\n", contentType: "text/plain" },
    ],
  });
  transport.close();
  return info;
}

async function only(http: string, identity: string) {
  const res = await fetch(`${http}/v1/identities/${encodeURIComponent(identity)}/events?since=0`);
  return ((await res.json()) as { events: { id: string }[] }).events;
}

describe("the message API", () => {
  it("serves one mail in full, its raw bytes and each attachment byte for byte", async () => {
    const { inbox } = await inboxFor();
    await sendRich(inbox.smtpPort);
    const [event] = await only(inbox.httpUrl, "dev+run42@example.com");
    const id = (event as { id: string }).id;
    const res = await fetch(`${inbox.httpUrl}/v1/messages/${id}`);
    expect(res.status).toBe(200);
    const { email } = (await res.json()) as {
      email: Record<string, unknown> & {
        attachments: { url: string; size: number; filename: string; contentType: string; index: number }[];
      };
    };
    expect(email.cc).toEqual(["boss@example.org", "audit@example.org"]);
    expect(email.text).toHaveLength(LONG.length);
    expect(email.truncated).toBe(false);
    expect(email.codes).toEqual(["482913"]);
    expect(JSON.stringify(email)).not.toContain("111222");
    expect(email.links).toEqual([]);
    expect((email.headers as Record<string, string>).subject).toBe("Your invoice and code");
    expect(email.attachments.map((a) => [a.index, a.filename, a.contentType, a.size])).toEqual([
      [0, "invoice.pdf", "application/pdf", PDF.length],
      [1, "notes é.txt", "text/plain", 12],
    ]);
    const pdf = await fetch(email.attachments[0]?.url as string);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(pdf.headers.get("content-disposition")).toMatch(/^attachment; filename="invoice.pdf"/);
    expect(sha(Buffer.from(await pdf.arrayBuffer()))).toBe(sha(PDF));
    const raw = await fetch(`${inbox.httpUrl}/v1/messages/${id}/raw`);
    expect(raw.headers.get("content-type")).toBe("message/rfc822");
    const rawBytes = Buffer.from(await raw.arrayBuffer());
    const stored = await inbox.rawMessage?.(id);
    expect(sha(rawBytes)).toBe(sha(stored as Buffer));
    expect(rawBytes.toString("latin1")).toContain("Subject: Your invoice and code");
    expect((await fetch(`${inbox.httpUrl}/v1/messages/${id}/attachments/7`)).status).toBe(404);
    expect((await fetch(`${inbox.httpUrl}/v1/messages/evt_nope_1`)).status).toBe(404);
  });

  it("reads a python smtplib mail's text past 100,000 characters as truncated", async () => {
    const { inbox } = await inboxFor();
    await runPython(
      `import smtplib,sys\nbody='x'*120000\nmsg='From: a@x.io\\r\\nTo: me@example.com\\r\\nSubject: big\\r\\n\\r\\n'+'\\r\\n'.join(body[i:i+900] for i in range(0,len(body),900))+'\\r\\n'\nsmtplib.SMTP('127.0.0.1',int(sys.argv[1])).sendmail('a@x.io',['me@example.com'],msg)\n`,
      inbox.smtpPort,
    );
    const [event] = await only(inbox.httpUrl, "me@example.com");
    const { email } = (await (await fetch(`${inbox.httpUrl}/v1/messages/${event?.id}`)).json()) as {
      email: { text: string; truncated: boolean };
    };
    expect(email.text).toHaveLength(100_000);
    expect(email.truncated).toBe(true);
  });

  it("clears one identity, then all, without reusing a seq, and the clearing survives a restart", async () => {
    const stateDir = await tempDir();
    const { inbox } = await inboxFor({ stateDir });
    await sendRich(inbox.smtpPort, "a@example.com");
    await sendRich(inbox.smtpPort, "b@example.com");
    const del = (who: string, headers: Record<string, string> = { "x-mail-events": "1" }) =>
      fetch(`${inbox.httpUrl}/v1/identities/${encodeURIComponent(who)}/messages`, {
        method: "DELETE",
        headers,
      });
    expect((await del("a@example.com", {})).status).toBe(403);
    expect(await (await del("a@example.com")).json()).toEqual({ identity: "a@example.com", cleared: 1 });
    expect(await only(inbox.httpUrl, "a@example.com")).toEqual([]);
    expect((await only(inbox.httpUrl, "*")).length).toBe(1);
    const before = (await only(inbox.httpUrl, "b@example.com"))[0]?.id as string;
    expect((await (await del("*")).json()) as unknown).toEqual({ identity: "*", cleared: 1 });
    expect(await only(inbox.httpUrl, "*")).toEqual([]);
    await inbox.close();
    const again = await startInbox({ stateDir, smtpPort: 0, httpPort: 0, log: memoryLogger() });
    try {
      expect(await only(again.httpUrl, "*")).toEqual([]);
      await sendRich(again.smtpPort, "c@example.com");
      const [next] = await only(again.httpUrl, "*");
      expect(Number(next?.id.split("_").pop())).toBeGreaterThan(Number(before.split("_").pop()));
    } finally {
      await again.close();
    }
  });
});

describe("identity patterns", () => {
  it("shows plus-addressed mail to its tag and its base address, and mail of a domain to *@domain", async () => {
    const { inbox } = await inboxFor();
    await sendRich(inbox.smtpPort, "me+run42@example.com");
    await sendRich(inbox.smtpPort, "me+run43@example.com");
    await sendRich(inbox.smtpPort, "you@other.test");
    expect(await only(inbox.httpUrl, "me+run42@example.com")).toHaveLength(1);
    expect(await only(inbox.httpUrl, "me@example.com")).toHaveLength(2);
    expect(await only(inbox.httpUrl, "*@example.com")).toHaveLength(2);
    expect(await only(inbox.httpUrl, "*@other.test")).toHaveLength(1);
    expect(await only(inbox.httpUrl, "*")).toHaveLength(3);
  });

  it("lets wait_for_email on the base address get the tagged mail, and get_email read it in full", async () => {
    const app = await startLocalApp();
    try {
      const waiting = app.tool<{
        found: boolean;
        email: { id: string; codes: string[]; attachments: unknown[] };
      }>("wait_for_email", {
        identity: "me@example.com",
        timeoutSeconds: 20,
      });
      await sendRich(app.inbox.smtpPort, "me+run42@example.com");
      const result = await waiting;
      expect(result.email.codes).toEqual(["482913"]);
      expect(result.email.attachments).toEqual([
        { index: 0, filename: "invoice.pdf", contentType: "application/pdf", size: PDF.length },
        { index: 1, filename: "notes é.txt", contentType: "text/plain", size: 12 },
      ]);
      const full = await app.tool<{ email: { cc: string[]; text: string; attachments: { url: string }[] } }>(
        "get_email",
        { id: result.email.id }, // no identity, and none configured: the id names the email
      );
      expect(full.email.cc).toContain("boss@example.org");
      expect(full.email.text.length).toBe(LONG.length);
      expect(full.email.attachments[0]?.url).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/v1\/messages\/.+\/attachments\/0$/,
      );
      const missing = await app.call("get_email", { id: "evt_zzz_9" });
      expect(missing.isError).toBe(true);
      expect(JSON.stringify(missing.content)).toContain("EMAIL_NOT_FOUND");
      expect(JSON.stringify(missing.content)).toContain("evt_zzz_9");
    } finally {
      await app.close();
    }
  });
});

describe("the inbox token", () => {
  it("refuses to start bound past loopback without a token, naming MAIL_EVENTS_INBOX_TOKEN", () => {
    expect(() => loadConfig({ MAIL_EVENTS_LISTEN: "0.0.0.0" }, [])).toThrow(/MAIL_EVENTS_INBOX_TOKEN/);
    expect(() =>
      loadConfig({ MAIL_EVENTS_LISTEN: "0.0.0.0", MAIL_EVENTS_INBOX_TOKEN: "s3cret-token" }, []),
    ).not.toThrow();
    expect(loadConfig({}, []).config.listen).toBe("127.0.0.1");
  });

  it("requires the token on every route, takes it from /?token= as a cookie, and keeps health open", async () => {
    const { inbox } = await inboxFor({ token: "s3cret-token" });
    const url = inbox.httpUrl;
    for (const path of ["/", "/inbox.js", "/v1/messages", "/v1/identities/*/events"]) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(401);
    }
    expect((await fetch(`${url}/v1/health`)).status).toBe(200);
    expect(
      (await fetch(`${url}/v1/messages`, { headers: { authorization: "Bearer s3cret-token" } })).status,
    ).toBe(200);
    const wrong = await fetch(`${url}/?token=nope`, { redirect: "manual" });
    expect(wrong.status).toBe(401);
    const login = await fetch(`${url}/?token=s3cret-token`, { redirect: "manual" });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/");
    const cookie = login.headers.get("set-cookie") as string;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(`${url}/`, { headers: { cookie: cookie.split(";")[0] as string } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

afterAll(() => {});

/** A GET with a Host header of our choosing (fetch may not set one), as a container reaching the host would send. */
function getWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host, ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("an inbox reached by another name", () => {
  it("serves host.docker.internal only when a token guards it, and only to its holder", async () => {
    const open = await inboxFor();
    const name = `host.docker.internal:${new URL(open.inbox.httpUrl).port}`;
    expect(await getWithHost(`${open.inbox.httpUrl}/v1/messages`, name)).toBe(403);
    const guarded = await inboxFor({ token: "docker-token-1" });
    const url = `${guarded.inbox.httpUrl}/v1/messages`;
    const other = `host.docker.internal:${new URL(guarded.inbox.httpUrl).port}`;
    expect(await getWithHost(url, other)).toBe(401);
    expect(await getWithHost(url, other, { authorization: "Bearer docker-token-1" })).toBe(200);
    expect(
      await getWithHost(url, other, {
        authorization: "Bearer docker-token-1",
        origin: "https://evil.example",
      }),
    ).toBe(403);
  });
});
