import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { sendWithNodemailer, sendWithPython, smtpDialogue } from "./helpers/smtp-client.js";
import { inboxPerTest } from "./helpers/smtp-inbox.js";
import { until } from "./helpers/until.js";

const inbox = inboxPerTest();

const message = (subject: string) =>
  `From: app@example.com\r\nTo: me@example.com\r\nSubject: ${subject}\r\n\r\nYour code is 246810.\r\n`;

/**
 * `count` attacking connections from 127.0.0.1: half sit idle after the greeting, half send
 * NOOP every `noopMs`. Each one that the server closes is opened again a second later, until
 * `stop()`, so the crowd never thins out by itself.
 */
function attack(port: number, count: number, noopMs: number) {
  let stopped = false;
  const sockets = new Set<Socket>();
  const firstReplies: string[] = [];
  let opened = 0;
  const open = (noop: boolean) => {
    if (stopped || opened >= count * 20) return; // bounded: at most 20 reconnects each
    opened++;
    const socket = connect(port, "127.0.0.1");
    sockets.add(socket);
    let timer: NodeJS.Timeout | undefined;
    let first = true;
    socket.on("data", (chunk) => {
      if (first) firstReplies.push(chunk.toString("latin1").slice(0, 3));
      first = false;
      if (noop && timer === undefined) timer = setInterval(() => socket.write("NOOP\r\n"), noopMs);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      sockets.delete(socket);
      setTimeout(() => open(noop), 1_000);
    });
  };
  for (let i = 0; i < count; i++) open(i % 2 === 0);
  return {
    get open() {
      return sockets.size;
    },
    firstReplies,
    stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

describe("the SMTP sink under a slowloris attack", () => {
  it("accepts a normal mail while 300 idle and NOOP-ing connections from the same address keep coming", async () => {
    const t = await inbox();
    const attacker = attack(t.inbox.smtpPort, 300, 1_000);
    try {
      await until(() => attacker.firstReplies.length >= 300, 20_000);
      expect(attacker.open).toBeGreaterThan(150);
      // A sender that retries a 4xx, as MTAs do; the deadline is generous, the condition exact.
      const attempts: string[] = [];
      const deadline = Date.now() + 20_000;
      while (!attempts.at(-1)?.startsWith("250") && Date.now() < deadline) {
        attempts.push(
          await sendWithNodemailer(t.inbox.smtpPort, {
            from: "app@example.com",
            to: ["me@example.com"],
            raw: message("through the crowd"),
          }).catch((e: { response?: string; message: string }) => e.response ?? e.message),
        );
        expect(attacker.open).toBeGreaterThan(150);
      }
      console.log(
        `slowloris: the mail went through on attempt ${attempts.length}: ${JSON.stringify(attempts)}`,
      );
      expect(attempts.at(-1)).toMatch(/^250 /);
      const python = await sendWithPython(t.inbox.smtpPort, {
        from: "app@example.com",
        to: ["me@example.com"],
        raw: message("python too"),
      });
      expect(python.refused).toEqual({});
      const subjects = (await t.events("me@example.com")).map((e) => (e.data as { subject: string }).subject);
      expect(subjects).toEqual(["through the crowd", "python too"]);
    } finally {
      attacker.stop();
    }
  });

  it("tells a connection over the cap 421 at once when every session is busy with a mail", async () => {
    const t = await inbox({ smtpLimits: { maxConnections: 10, reserve: 2 } });
    const busy: Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const socket = connect(t.inbox.smtpPort, "127.0.0.1");
        socket.on("error", () => {});
        busy.push(socket);
        let seen = "";
        await new Promise<void>((resolve) => {
          socket.on("data", (chunk) => {
            seen += chunk.toString("latin1");
            if (seen.startsWith("220") && !seen.includes("EHLO sent")) {
              seen += "EHLO sent";
              socket.write("EHLO x\r\nMAIL FROM:<a@example.com>\r\n");
            }
            if (/250 [^\n]*Accepted/.test(seen)) resolve();
          });
        });
      }
      const replies = await smtpDialogue(t.inbox.smtpPort, []);
      expect(replies[0]).toMatch(/^421 .*10 connections open/);
    } finally {
      for (const socket of busy) socket.destroy();
    }
  });

  it("closes a session that only sends NOOPs, with a 421", async () => {
    const t = await inbox();
    const replies = await smtpDialogue(t.inbox.smtpPort, [
      "EHLO x\r\n",
      ...Array.from({ length: 150 }, () => "NOOP\r\n"),
    ]);
    expect(replies.length).toBeLessThan(152);
    expect(replies.at(-1)).toMatch(/^421 .*too many commands without a mail/);
  });
});
