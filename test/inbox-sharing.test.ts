import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureInbox } from "../src/inbox/index.js";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { DIST_MAIN, freePort, memoryLogger, requireDist, tempDirsPerFile } from "./helpers/smtp-inbox.js";

beforeAll(() => requireDist());
const dir = tempDirsPerFile();

const raw = (to: string, subject: string) =>
  `From: sender@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nYour code is ${subject.replace(/\D/g, "")}.\r\n`;

/** `mail-events-mcp serve` from dist/, spoken to over stdio by the SDK's own client. */
async function spawnServe(env: Record<string, string>): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [DIST_MAIN],
    env: { PATH: process.env.PATH ?? "", ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => {
    stderr += d;
  });
  const client = new Client({ name: "inbox-sharing-test", version: "0" });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

async function waitTool(client: Client, identity: string, timeoutSeconds = 15) {
  const result = (await client.callTool(
    { name: "wait_for_email", arguments: { identity, timeoutSeconds } },
    undefined,
    { timeout: 30_000 },
  )) as CallToolResult;
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as { found: boolean; email?: { subject: string; codes: string[] } };
}

/** Resolves once something accepts connections on the port (bounded: ~5 s). */
async function listening(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

/** Resolves once a wait is parked on the inbox at `httpPort` (bounded: ~10 s). */
async function parked(httpPort: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const health = await fetch(`http://127.0.0.1:${httpPort}/v1/health`)
      .then((r) => r.json() as Promise<{ waiting?: number }>)
      .catch(() => ({ waiting: 0 }));
    if ((health.waiting ?? 0) > 0) return true;
    await sleep(50);
  }
  return false;
}

describe("one inbox shared by every server on the machine", () => {
  it("lets two `serve` processes wait on one inbox, and the second takes it over when the first quits", async () => {
    const stateDir = await dir();
    const [smtpPort, httpPort] = [await freePort(), await freePort()];
    const env = {
      MAIL_EVENTS_STATE_DIR: stateDir,
      MAIL_EVENTS_SMTP_PORT: String(smtpPort),
      MAIL_EVENTS_HTTP_PORT: String(httpPort),
    };
    const a = await spawnServe(env);
    expect(await listening(smtpPort)).toBe(true);
    const b = await spawnServe(env);
    try {
      const waitA = waitTool(a.client, "first@example.com");
      const waitB = waitTool(b.client, "second@example.com");
      await sendWithNodemailer(smtpPort, {
        from: "sender@example.com",
        to: ["first@example.com", "second@example.com"],
        raw: raw("first@example.com", "code 111222"),
      });
      const [gotA, gotB] = await Promise.all([waitA, waitB]);
      expect(gotA.email?.codes).toEqual(["111222"]);
      expect(gotB.email?.codes).toEqual(["111222"]);
      expect(a.stderr() + b.stderr()).toMatch(/using the one already running/);

      await a.client.close(); // stdin EOF: the process that ran the inbox exits (close waits for it)
      const waitAfter = waitTool(b.client, "second@example.com");
      expect(await listening(smtpPort)).toBe(true);
      expect(await parked(httpPort)).toBe(true);
      await sendWithNodemailer(smtpPort, {
        from: "sender@example.com",
        to: ["second@example.com"],
        raw: raw("second@example.com", "code 333444"),
      });
      expect((await waitAfter).email?.codes).toEqual(["333444"]);
      expect(b.stderr()).toMatch(/running it here now/);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });

  it("uses an inbox already running in-process on the same ports instead of failing", async () => {
    const [smtpPort, httpPort] = [await freePort(), await freePort()];
    const stateDir = await dir();
    const first = await ensureInbox({ stateDir, smtpPort, httpPort, log: memoryLogger() });
    const second = await ensureInbox({ stateDir, smtpPort, httpPort, log: memoryLogger() });
    try {
      expect(first.owned).toBe(true);
      expect(second).toMatchObject({ owned: false, smtpPort, httpUrl: first.httpUrl });
    } finally {
      await second.close();
      await first.close();
    }
  });

  it("names the HTTP port and MAIL_EVENTS_HTTP_PORT when another program holds it", async () => {
    const other = createHttpServer((_req, res) => res.end("not an inbox")).listen(0, "127.0.0.1");
    await once(other, "listening");
    const httpPort = (other.address() as { port: number }).port;
    try {
      const error = await ensureInbox({
        stateDir: await dir(),
        smtpPort: 0,
        httpPort,
        log: memoryLogger(),
      }).catch((e: Error) => e);
      expect((error as Error).message).toMatch(new RegExp(`HTTP port ${httpPort}.*MAIL_EVENTS_HTTP_PORT`));
    } finally {
      other.close();
    }
  });

  it("names the SMTP port and MAIL_EVENTS_SMTP_PORT when another program holds it", async () => {
    const other = createTcpServer((socket) => socket.end()).listen(0, "127.0.0.1");
    await once(other, "listening");
    const smtpPort = (other.address() as { port: number }).port;
    const httpPort = await freePort();
    try {
      const error = await ensureInbox({
        stateDir: await dir(),
        smtpPort,
        httpPort,
        log: memoryLogger(),
      }).catch((e: Error) => e);
      expect((error as Error).message).toMatch(new RegExp(`SMTP port ${smtpPort}.*MAIL_EVENTS_SMTP_PORT`));
    } finally {
      other.close();
    }
  });

  it("refuses a second inbox on other ports writing to the same log, naming MAIL_EVENTS_STATE_DIR", async () => {
    const stateDir = await dir();
    const first = await ensureInbox({ stateDir, smtpPort: 0, httpPort: 0, log: memoryLogger() });
    try {
      const error = await ensureInbox({ stateDir, smtpPort: 0, httpPort: 0, log: memoryLogger() }).catch(
        (e: Error) => e,
      );
      expect((error as Error).message).toMatch(/already in use by process .*MAIL_EVENTS_STATE_DIR/);
    } finally {
      await first.close();
    }
  });
});
