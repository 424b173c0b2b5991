import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalApp, startLocalApp } from "./helpers/local-app.js";
import { pooledTransport, sendWithNodemailer, sendWithPython } from "./helpers/smtp-client.js";

let app: LocalApp;
beforeAll(async () => {
  app = await startLocalApp();
});
afterAll(() => app.close());

const KB = 1024;
const MB = 1024 * 1024;

/** A raw message with an 8bit body, its lines kept under SMTP's 1000-octet limit. */
function rawMail(to: string, subject: string, headers: string, body: string | Buffer): Buffer {
  const head = `From: big@sender.test\r\nTo: ${to}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\n${headers}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), typeof body === "string" ? Buffer.from(body) : body]);
}

const lines = (unit: string, bytes: number): string => {
  const line = `${unit.repeat(Math.max(1, Math.floor(200 / unit.length)))}\r\n`;
  return line.repeat(Math.ceil(bytes / line.length));
};

async function storedEvent(identity: string): Promise<Record<string, unknown>> {
  const res = await fetch(
    `${app.inbox.httpUrl}/v1/identities/${encodeURIComponent(identity)}/events?since=0`,
  );
  const { events } = (await res.json()) as { events: Record<string, unknown>[] };
  expect(events).toHaveLength(1);
  return events[0] as Record<string, unknown>;
}

describe("what the local inbox stores per mail stays bounded", () => {
  it("stores a 1.6 MB body of control characters as an event of at most 256 KB", async () => {
    const controls = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1))
      .filter((c) => c !== "\n" && c !== "\r")
      .join("");
    const body = `Your verification code is 482193.\r\n${lines(`${controls}\u007f`, 1.6 * MB)}`;
    const raw = rawMail("ctl@big.test", "Your code", "Content-Type: text/plain; charset=utf-8\r\n", body);
    expect(
      await sendWithNodemailer(app.inbox.smtpPort, { from: "big@sender.test", to: ["ctl@big.test"], raw }),
    ).toMatch(/^250 /);
    const event = await storedEvent("ctl@big.test");
    console.log(
      `1.6 MB of control characters: stored event ${JSON.stringify(event).length} characters of JSON`,
    );
    expect(JSON.stringify(event).length).toBeLessThanOrEqual(256 * KB);
    const data = event.data as { text: string; codes: string[]; truncated?: boolean };
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is that none are left.
    expect(data.text).not.toMatch(/[\u0001-\u0008\u000b-\u001f\u007f]/);
    expect(data.codes).toEqual(["482193"]);
    const found = await app.tool<{ email: { codes: string[] } }>("wait_for_email", {
      identity: "ctl@big.test",
      timeoutSeconds: 10,
    });
    expect(found.email.codes).toEqual(["482193"]);
  });

  it("stores a 9 MB HTML mail as an event of at most 256 KB, without its HTML", async () => {
    const html =
      '<p>Your sign-in code is <b>604118</b>. <a href="https://app.example/login/magic?token=abc123">Sign in</a></p>\r\n' +
      lines('<div style="color:#123">lorem ipsum <span>dolor</span> sit amet</div>', 9 * MB);
    const raw = rawMail(
      "html@big.test",
      "Sign in",
      "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
      html,
    );
    await sendWithNodemailer(app.inbox.smtpPort, { from: "big@sender.test", to: ["html@big.test"], raw });
    const event = await storedEvent("html@big.test");
    console.log(
      `${(raw.length / MB).toFixed(1)} MB HTML mail: stored event ${JSON.stringify(event).length} characters of JSON`,
    );
    expect(JSON.stringify(event).length).toBeLessThanOrEqual(256 * KB);
    const data = event.data as Record<string, unknown>;
    expect(data.html).toBeUndefined();
    expect(data.truncated).toBe(true);
    expect(data.codes).toEqual(["604118"]);
    expect(data.links).toEqual(["https://app.example/login/magic?token=abc123"]);
  });

  it("keeps a pull_events page of 50 heavy emails within 64 KB of JSON", async () => {
    const transport = pooledTransport(app.inbox.smtpPort, 2);
    const links = Array.from(
      { length: 12 },
      (_, i) => `<a href="https://app.example/verify/${i}?token=${"t".repeat(500)}">Verify ${i}</a>`,
    ).join(" ");
    try {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          transport.sendMail({
            envelope: { from: "big@sender.test", to: ["page@big.test"] },
            from: `"${"名前".repeat(200)}" <big@sender.test>`,
            to: Array.from({ length: 60 }, (_, j) => `recipient-${j}-${"x".repeat(40)}@big.test`),
            subject: `Your verification code is 48219${i % 10} ${"件名".repeat(400)}`,
            text: `Your verification code is 48219${i % 10}.\n${"本文 ".repeat(10_000)}`,
            html: `<p>Your verification code is <b>48219${i % 10}</b></p>${links}`,
            headers: { "X-Long": "h".repeat(900) },
          }),
        ),
      );
    } finally {
      transport.close();
    }
    const page = await app.tool<{ events: { email?: { codes?: string[] } }[] }>("pull_events", {
      identity: "page@big.test",
      since: 0,
      limit: 50,
    });
    expect(page.events).toHaveLength(50);
    console.log(
      `pull_events page of 50 heavy emails: ${Buffer.byteLength(JSON.stringify(page))} bytes of JSON`,
    );
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(64 * KB);
    expect(page.events.every((e) => e.email?.codes?.[0]?.startsWith("48219"))).toBe(true);
  });
});

describe("user regexes cannot stall the server", () => {
  it("answers a /(a+)+$/ wait over a crafted body, and the next call too", async () => {
    const body = `${"a".repeat(31_000)}!`;
    await sendWithNodemailer(app.inbox.smtpPort, {
      from: "redos@sender.test",
      to: ["redos@big.test"],
      raw: rawMail("redos@big.test", "a".repeat(30), "Content-Type: text/plain\r\n", `${body}\r\n`),
    });
    const started = Date.now();
    const result = await app.tool<{ found: boolean }>("wait_for_email", {
      identity: "redos@big.test",
      contains: "/(a+)+$/",
      subject: "/^(a|aa)+$/",
      timeoutSeconds: 1,
    });
    console.log(`wait with /(a+)+$/ over a 31,000-character body answered in ${Date.now() - started} ms`);
    expect(result.found).toBe(false);
    const again = await app.tool<{ found: boolean }>("wait_for_email", {
      identity: "redos@big.test",
      contains: "/a{3}!\\s*$/",
      timeoutSeconds: 5,
    });
    expect(again.found).toBe(true);
  });

  it("refuses a pattern the linear-time engine cannot run, with INVALID_INPUT", async () => {
    const result = await app.call("wait_for_email", {
      identity: "redos@big.test",
      contains: "/(a)\\1/",
      timeoutSeconds: 1,
    });
    expect(result.isError).toBe(true);
    const text = JSON.stringify(result.content);
    expect(text).toContain("[INVALID_INPUT]");
    expect(text).toContain("contains is not a valid regular expression");
  });
});

describe("8-bit bodies with no charset", () => {
  const send = (to: string, body: Buffer) =>
    sendWithPython(app.inbox.smtpPort, {
      from: "shop@sender.test",
      to: [to],
      raw: Buffer.concat([
        Buffer.from(
          `From: shop@sender.test\r\nTo: ${to}\r\nSubject: Votre code\r\nMIME-Version: 1.0\r\n\r\n`,
        ),
        body,
        Buffer.from("\r\n"),
      ]),
    });

  it("reads a body that is valid UTF-8 as UTF-8", async () => {
    await send("utf8@charset.test", Buffer.from("Café crème – votre code de vérification : 662781", "utf8"));
    const found = await app.tool<{ email: { text: string; codes: string[] } }>("wait_for_email", {
      identity: "utf8@charset.test",
      timeoutSeconds: 10,
    });
    expect(found.email.text).toContain("Café crème – votre code de vérification");
    expect(found.email.codes).toEqual(["662781"]);
  });

  it("reads any other 8-bit body as windows-1252", async () => {
    const cp1252 = Buffer.from([
      ...Buffer.from("Caf"),
      0xe9,
      ...Buffer.from(" "),
      0x80,
      ...Buffer.from(" 10 "),
      0x96,
      ...Buffer.from(" "),
      0x93,
      ...Buffer.from("code"),
      0x94,
      ...Buffer.from(" : 302918"),
    ]);
    await send("cp1252@charset.test", cp1252);
    const found = await app.tool<{ email: { text: string; codes: string[] } }>("wait_for_email", {
      identity: "cp1252@charset.test",
      timeoutSeconds: 10,
    });
    expect(found.email.text).toContain("Café € 10 – “code” : 302918");
    expect(found.email.codes).toEqual(["302918"]);
  });
});
