import { afterEach, describe, expect, it } from "vitest";
import { type LocalServer, startLocalServer } from "./helpers/local-server.js";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { tempDirsPerFile } from "./helpers/smtp-inbox.js";

type Found = { found: boolean; email?: { id: string; subject: string; codes: string[]; to: string[] } };

const dir = tempDirsPerFile();
let server: LocalServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const mail = (s: LocalServer, to: string, subject: string, body = "hello") =>
  sendWithNodemailer(s.inbox.smtpPort, {
    from: "shop@acme.test",
    to: [to],
    raw: `From: Acme <shop@acme.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`,
  });
const wait = (s: LocalServer, args: Record<string, unknown>) =>
  s.ok<Found>("wait_for_email", { identity: "me@example.com", timeoutSeconds: 2, ...args });

describe("wait_for_email is a query over recent mail, not a consumer", () => {
  it.each([
    ["code first", ["code", "Welcome"]],
    ["welcome first", ["Welcome", "code"]],
  ])("two filtered waits each get their own email (%s)", async (_, order) => {
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: await dir() });
    await mail(server, "me@example.com", "Welcome to Acme");
    await mail(server, "me@example.com", "Your Acme code", "Your code is 482913");
    const subjects = [];
    for (const subject of order) subjects.push((await wait(server, { subject })).email?.subject);
    expect(subjects).toEqual(order.map((s) => (s === "code" ? "Your Acme code" : "Welcome to Acme")));
  });

  it("leaves mail a filtered wait skipped for an unfiltered one", async () => {
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: await dir() });
    await mail(server, "me@example.com", "Welcome to Acme");
    await mail(server, "me@example.com", "Your Acme code", "Your code is 482913");
    expect((await wait(server, { subject: "code" })).email?.subject).toBe("Your Acme code");
    expect((await wait(server, {})).email?.subject).toBe("Welcome to Acme");
    expect((await wait(server, { timeoutSeconds: 0.3 })).found).toBe(false);
  });

  it("never returns an email twice, across a restart", async () => {
    const state = await dir();
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: state });
    await mail(server, "me@example.com", "Your code", "Your code is 111222");
    const first = await wait(server, {});
    expect(first.email?.codes).toEqual(["111222"]);
    await server.close();
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: state });
    expect((await wait(server, { timeoutSeconds: 0.3 })).found).toBe(false);
    await mail(server, "me@example.com", "Your new code", "Your code is 333444");
    expect((await wait(server, {})).email?.codes).toEqual(["333444"]);
  });

  it("takes `after`: only mail that arrived after that email, however old", async () => {
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: await dir() });
    await mail(server, "me@example.com", "one");
    await mail(server, "me@example.com", "two");
    await mail(server, "me@example.com", "three");
    const pulled = await server.ok<{ events: { id: string }[] }>("pull_events", {
      identity: "me@example.com",
    });
    const second = pulled.events[1]?.id;
    const got = await wait(server, { after: second, maxAgeSeconds: 0 });
    expect(got.email?.subject).toBe("three");
    expect((await wait(server, { after: second, timeoutSeconds: 0.3 })).found).toBe(false);
    const unknown = await server.call("wait_for_email", { identity: "me@example.com", after: "evt_nope" });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toMatch(/not an email id this server has seen/);
  });

  it("filters on a recipient with `to`, on the identity that sees all mail", async () => {
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: await dir() });
    await mail(server, "alice@example.com", "for alice");
    await mail(server, "bob@example.com", "for bob");
    const got = await server.ok<Found>("wait_for_email", { identity: "*", to: "alice@", timeoutSeconds: 2 });
    expect(got.email?.subject).toBe("for alice");
  });

  it("waits for mail that lands during the wait when nothing recent matches", async () => {
    server = await startLocalServer({ MAIL_EVENTS_STATE_DIR: await dir() });
    await mail(server, "me@example.com", "Welcome to Acme");
    const s = server;
    const pending = wait(s, { subject: "code", timeoutSeconds: 20 });
    setTimeout(() => void mail(s, "me@example.com", "Your Acme code", "Your code is 556677"), 200);
    expect((await pending).email?.codes).toEqual(["556677"]);
  });
});
