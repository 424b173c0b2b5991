import { once } from "node:events";
import { createServer, type Server } from "node:http";
import nodemailer from "nodemailer";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBrowser, type TestBrowser } from "./helpers/browser.js";
import { runPython } from "./helpers/smtp-client.js";
import { inboxPerTest, spawnInbox, tempDir } from "./helpers/smtp-inbox.js";

const inboxFor = inboxPerTest();
let browser: TestBrowser;
/** A loopback server standing for "the internet": a mail's remote content must never reach it. */
let remote: Server;
let remoteUrl: string;
const remoteHits: string[] = [];

beforeAll(async () => {
  browser = await startBrowser();
  remote = createServer((req, res) => {
    remoteHits.push(req.url ?? "");
    res.end("x");
  });
  remote.listen(0, "127.0.0.1");
  await once(remote, "listening");
  const address = remote.address() as { port: number };
  remoteUrl = `http://127.0.0.1:${address.port}`;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  remote?.close();
});

async function send(port: number, mail: { to?: string; subject: string; text?: string; html?: string }) {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  try {
    return await transport.sendMail({
      from: "App <app@example.com>",
      to: mail.to ?? "dev@example.com",
      ...mail,
    });
  } finally {
    transport.close();
  }
}

async function openPage(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.locator("#status.live").waitFor({ timeout: 10_000 });
  return page;
}

describe("the inbox page in a real browser", () => {
  it("shows a new mail live, without a reload, and opening it shows its body and code", async () => {
    const { inbox } = await inboxFor();
    const page = await openPage(`${inbox.httpUrl}/`);
    try {
      expect(await page.locator("#empty").isVisible()).toBe(true);
      await send(inbox.smtpPort, {
        subject: "Your sign-in code",
        text: "Hello!\nYour code is 847293.\nBye.",
      });
      const row = page.locator("#mails button", { hasText: "Your sign-in code" });
      await row.waitFor({ timeout: 5_000 });
      await row.click();
      await page.locator(".code-value", { hasText: "847293" }).waitFor({ timeout: 5_000 });
      expect(await page.locator("#tab-text").textContent()).toContain("Your code is 847293.");
      await page.getByRole("tab", { name: "Raw" }).click();
      await page.locator("#tab-raw", { hasText: "Subject: Your sign-in code" }).waitFor({ timeout: 5_000 });
      await page.getByRole("tab", { name: "Headers" }).click();
      expect(await page.locator("#tab-headers").textContent()).toContain("subject");
    } finally {
      await page.close();
    }
  });

  it("renders a mail's HTML with no remote request and no script run", async () => {
    const { inbox } = await inboxFor();
    const page = await openPage(`${inbox.httpUrl}/`);
    const ran: string[] = [];
    await page.exposeFunction("__ran", (what: string) => ran.push(what));
    try {
      const before = remoteHits.length;
      const html = `<html><head><link rel="stylesheet" href="${remoteUrl}/style.css">
        <style>body{background:url(${remoteUrl}/bg.png)}</style></head>
        <body><h1 id="hello">Hello from HTML</h1>
        <img src="${remoteUrl}/pixel.png" width="1" height="1">
        <img src="x" onerror="document.getElementById('hello').textContent='HANDLER RAN'">
        <script>document.getElementById('hello').textContent='SCRIPT RAN'; fetch('${remoteUrl}/script'); try { parent.__ran('script') } catch (e) {} document.title='pwned'</script>
        <iframe src="${remoteUrl}/frame"></iframe><video poster="${remoteUrl}/poster.png"></video>
        <p>Code: 556677</p></body></html>`;
      await send(inbox.smtpPort, { subject: "Tracking pixels", html });
      await page.locator("#mails button", { hasText: "Tracking pixels" }).click();
      const frame = page.frameLocator("#tab-html");
      await frame.locator("#hello").waitFor({ timeout: 5_000 });
      // A document's load event waits for its images and frames: had any been fetched, they would be by now.
      const content = await (await page.locator("#tab-html").elementHandle())?.contentFrame();
      await content?.waitForLoadState("load", { timeout: 5_000 });
      expect(remoteHits.slice(before)).toEqual([]);
      expect(ran).toEqual([]);
      expect(await frame.locator("#hello").textContent()).toBe("Hello from HTML");
      expect(await page.title()).not.toBe("pwned");
      // The remote server does answer: a request that had left the browser would have been counted.
      await fetch(`${remoteUrl}/control`);
      expect(remoteHits.slice(before)).toEqual(["/control"]);
      expect(await page.locator(".code-value").allTextContents()).toContain("556677");
    } finally {
      await page.close();
    }
  });

  it("clears the list with the clear button, and the API agrees", async () => {
    const { inbox } = await inboxFor();
    await send(inbox.smtpPort, { subject: "one", text: "1" });
    await send(inbox.smtpPort, { subject: "two", text: "2" });
    const page = await openPage(`${inbox.httpUrl}/`);
    try {
      await page.locator("#mails li").nth(1).waitFor({ timeout: 5_000 });
      expect(await page.locator("#mails li").first().textContent()).toContain("two");
      await page.locator("#clear").click();
      await page.locator("#empty").waitFor({ state: "visible", timeout: 5_000 });
      expect(await page.locator("#mails li").count()).toBe(0);
      const list = (await (await fetch(`${inbox.httpUrl}/v1/messages`)).json()) as { messages: unknown[] };
      expect(list.messages).toEqual([]);
      await send(inbox.smtpPort, { subject: "after the clear", text: "3" });
      await page.locator("#mails button", { hasText: "after the clear" }).waitFor({ timeout: 5_000 });
    } finally {
      await page.close();
    }
  });

  it("filters by an identity pattern", async () => {
    const { inbox } = await inboxFor();
    await send(inbox.smtpPort, { to: "me+run1@example.com", subject: "tagged one", text: "a" });
    await send(inbox.smtpPort, { to: "other@else.test", subject: "elsewhere", text: "b" });
    const page = await openPage(`${inbox.httpUrl}/?identity=me%40example.com`);
    try {
      await page.locator("#mails button", { hasText: "tagged one" }).waitFor({ timeout: 5_000 });
      expect(await page.locator("#mails li").count()).toBe(1);
      await page.locator("#identity").fill("*@else.test");
      await page.locator("#identity").press("Enter");
      await page.locator("#mails button", { hasText: "elsewhere" }).waitFor({ timeout: 5_000 });
      expect(await page.locator("#mails li").count()).toBe(1);
    } finally {
      await page.close();
    }
  });

  it("with a token, opens after /?token= once and stays usable", async () => {
    const { inbox } = await inboxFor({ token: "page-token-123" });
    const page = await browser.context.newPage();
    try {
      await page.goto(`${inbox.httpUrl}/`);
      expect(await page.textContent("body")).toContain("MAIL_EVENTS_INBOX_TOKEN");
      await page.goto(`${inbox.httpUrl}/?token=page-token-123`);
      expect(new URL(page.url()).search).toBe("");
      await page.locator("#status.live").waitFor({ timeout: 10_000 });
      await send(inbox.smtpPort, { subject: "behind a token", text: "code 998877" });
      await page.locator("#mails button", { hasText: "behind a token" }).waitFor({ timeout: 5_000 });
    } finally {
      await page.close();
    }
  });
});

/**
 * Sends with python3 smtplib in its own process, which stamps the wall clock (shared with the
 * browser) the moment DATA's `250` arrives: this process's event loop (vitest, playwright)
 * would stamp it late.
 */
async function sendTimed(port: number, subject: string): Promise<number> {
  const out = await runPython(
    [
      "import smtplib, sys, time",
      "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))",
      "s.ehlo('t'); s.mail('app@example.com'); s.rcpt('dev@example.com')",
      `code, _ = s.data('From: app@example.com\\r\\nTo: dev@example.com\\r\\nSubject: ${subject}\\r\\n\\r\\nCode 123456\\r\\n')`,
      "at = time.time() * 1000",
      "s.quit()",
      "print(code, at)",
    ].join("\n"),
    port,
  );
  const [code, at] = out.trim().split(" ");
  if (code !== "250") throw new Error(`not accepted: ${out}`);
  return Number(at);
}

// Figures for the README, not assertions: MAIL_EVENTS_PAGE_FIGURES=1 npx vitest run test/inbox-page.test.ts
describe.runIf(process.env.MAIL_EVENTS_PAGE_FIGURES)("figures", () => {
  it("measures a mail's 250 to its row on the page, and takes the screenshot", {
    timeout: 120_000,
  }, async () => {
    // The inbox in its own process (the built bin), so this process's event loop (vitest,
    // playwright) does not delay the inbox or the moment the client reads its 250.
    const spawned = await spawnInbox(await tempDir());
    const inbox = {
      httpUrl: spawned.httpUrl,
      smtpPort: spawned.smtpPort,
      close: async () => spawned.child.kill(),
    };
    const page = await openPage(`${inbox.httpUrl}/`);
    // A string, not a function: this file is type-checked without the DOM library.
    await page.evaluate(`(() => {
      const seen = (window.__seen = {});
      new MutationObserver(() => {
        for (const row of document.querySelectorAll("#mails .row-subject")) seen[row.textContent] ??= Date.now();
      }).observe(document.getElementById("mails"), { childList: true, subtree: true });
    })()`);
    const samples: number[] = [];
    for (let i = 0; i < 11; i++) {
      const subject = `latency ${i}`;
      const accepted = await sendTimed(inbox.smtpPort, subject);
      await page.locator(".row-subject", { hasText: subject }).waitFor({ timeout: 5_000 });
      const shown = await page.evaluate(`window.__seen[${JSON.stringify(subject)}]`);
      samples.push((shown as number) - accepted);
    }
    samples.sort((a, b) => a - b);
    process.stderr.write(
      `250 -> row on the page, ms (n=${samples.length}): median ${samples[Math.floor(samples.length / 2)]?.toFixed(1)}, min ${samples[0]?.toFixed(1)}, max ${samples.at(-1)?.toFixed(1)}\n`,
    );
    await inbox.close();
    await page.close();

    const shot = await inboxFor();
    const mails = [
      {
        to: "new-user+signup@example.com",
        subject: "Confirm your email address",
        html: `<div style="font-family:sans-serif;max-width:480px;margin:auto"><h2 style="color:#2563eb">Welcome to Acme</h2><p>Your verification code is</p><p style="font-size:32px;letter-spacing:6px;font-weight:bold">482913</p><p><a href="https://acme.example/verify?t=abc">Verify my email</a></p><p style="color:#888">If you did not sign up, ignore this mail.</p></div>`,
        text: "Your verification code is 482913",
      },
      {
        to: "billing@example.com",
        subject: "Your invoice INV-2031",
        text: "Thanks for your order.\nThe invoice is attached.",
      },
      {
        to: "dev@example.com",
        subject: "Reset your password",
        text: "Use this link: https://acme.example/reset?t=xyz",
      },
      {
        to: "dev+ci-run-17@example.com",
        subject: "Sign-in code: 731 204",
        text: "Your sign-in code is 731 204.",
      },
    ];
    for (const m of mails) await send(shot.inbox.smtpPort, m);
    const view = await openPage(`${shot.inbox.httpUrl}/`);
    await view
      .locator("#mails li")
      .nth(mails.length - 1)
      .waitFor({ timeout: 5_000 });
    await view.locator("#mails button", { hasText: "Confirm your email address" }).click();
    await view.locator(".code-value", { hasText: "482913" }).waitFor({ timeout: 5_000 });
    await view.frameLocator("#tab-html").locator("h2").waitFor({ timeout: 5_000 });
    await view.screenshot({ path: new URL("../docs/inbox-page.png", import.meta.url).pathname });
    await view.close();
  });
});
