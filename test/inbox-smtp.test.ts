import { describe, expect, it } from "vitest";
import { pooledTransport, sendWithNodemailer, smtpDialogue } from "./helpers/smtp-client.js";
import { inboxPerTest } from "./helpers/smtp-inbox.js";

const inbox = inboxPerTest();

const code = (reply: string | undefined) => Number(reply?.slice(0, 3));

const message = (to: string, subject: string, body = "hello") =>
  `From: sender@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

describe("the SMTP sink", () => {
  it("answers bad commands with SMTP errors and still takes mail on the same session", async () => {
    const t = await inbox();
    const replies = await smtpDialogue(t.inbox.smtpPort, [
      "MAIL FROM:<early@example.com>\r\n", // before EHLO
      "EHLO tester\r\n",
      "FROBNICATE now\r\n",
      "RCPT TO:<nobody@example.com>\r\n", // before MAIL
      "DATA\r\n", // before RCPT
      "MAIL FROM:<broken\r\n",
      "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
      "STARTTLS\r\n",
      "\u0000\u00ff\u0001 binary garbage\r\n",
      "MAIL FROM:<ok@example.com>\r\n",
      "RCPT TO:<Target@Example.com>\r\n",
      "DATA\r\n",
      `${message("target@example.com", "after the garbage")}.\r\n`,
      "QUIT\r\n",
    ]);
    const codes = replies.map(code);
    expect(codes[0]).toBe(220);
    expect(codes[1]).toBeGreaterThanOrEqual(500); // MAIL before EHLO
    expect(codes[2]).toBe(250); // EHLO
    for (const bad of codes.slice(3, 10)) {
      expect(bad).toBeGreaterThanOrEqual(500);
      expect(bad).toBeLessThan(600);
    }
    expect(codes.slice(10)).toEqual([250, 250, 354, 250, 221]);
    const events = await t.events("target@example.com");
    expect(events.map((e) => (e.data as { subject: string }).subject)).toEqual(["after the garbage"]);
  });

  it("refuses an HTTP request sent to the SMTP port and keeps serving", async () => {
    const t = await inbox();
    const replies = await smtpDialogue(t.inbox.smtpPort, ["GET / HTTP/1.1\r\n"]);
    expect(code(replies[1])).toBe(421);
    const reply = await sendWithNodemailer(t.inbox.smtpPort, {
      from: "a@example.com",
      to: ["b@example.com"],
      raw: message("b@example.com", "still up"),
    });
    expect(reply).toMatch(/^250 /);
  });

  it("answers an oversize message with 552 naming the limit, and stores nothing", async () => {
    const t = await inbox({ maxMessageBytes: 20_000 });
    const big = message("big@example.com", "too big", "x".repeat(76).concat("\r\n").repeat(400));
    const error = await sendWithNodemailer(t.inbox.smtpPort, {
      from: "a@example.com",
      to: ["big@example.com"],
      raw: big,
    }).catch((e: { responseCode?: number; response?: string }) => e);
    expect((error as { responseCode?: number }).responseCode).toBe(552);
    expect((error as { response?: string }).response).toMatch(/20000/);
    // A client that announces the size is refused before it sends the body.
    const replies = await smtpDialogue(t.inbox.smtpPort, [
      "EHLO x\r\n",
      "MAIL FROM:<a@example.com> SIZE=999999\r\n",
    ]);
    expect(code(replies[2])).toBe(552);
    expect(await t.events("big@example.com")).toEqual([]);
    expect(await t.events("*")).toEqual([]);
  });

  it("refuses more recipients than the limit with 452 and delivers to the accepted ones", async () => {
    const t = await inbox({ maxRecipients: 3 });
    const replies = await smtpDialogue(t.inbox.smtpPort, [
      "EHLO x\r\n",
      "MAIL FROM:<a@example.com>\r\n",
      ...[1, 2, 3, 4].map((i) => `RCPT TO:<r${i}@example.com>\r\n`),
      "DATA\r\n",
      `${message("r1@example.com", "three of four")}.\r\n`,
    ]);
    expect(replies.slice(3).map(code)).toEqual([250, 250, 250, 452, 354, 250]);
    expect(await t.events("r3@example.com")).toHaveLength(1);
    expect(await t.events("r4@example.com")).toEqual([]);
  });

  it("delivers 1,000 messages sent over 8 connections, each once, with strictly increasing seqs", async () => {
    const t = await inbox();
    const transport = pooledTransport(t.inbox.smtpPort, 8);
    const started = performance.now();
    try {
      await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          transport.sendMail({
            envelope: { from: "load@example.com", to: [`load${i % 10}@example.com`] },
            raw: message(`load${i % 10}@example.com`, `load ${i}`),
          }),
        ),
      );
    } finally {
      transport.close();
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `inbox ingest: 1000 messages in ${seconds.toFixed(2)} s (${Math.round(1000 / seconds)} msg/s, durable)`,
    );
    const subjects: string[] = [];
    let since = 0;
    for (let page = 0; page < 10; page++) {
      const { json } = await t.get(`/v1/identities/*/events?since=${since}&limit=200`);
      const events = json.events as { seq: number; data: { subject: string } }[];
      for (const e of events) {
        expect(e.seq).toBeGreaterThan(since);
        since = e.seq;
        subjects.push(e.data.subject);
      }
      if (!json.hasMore) break;
    }
    expect(subjects).toHaveLength(1_000);
    expect(new Set(subjects).size).toBe(1_000);
    expect(await t.events("load7@example.com")).toHaveLength(100);
  });
});
