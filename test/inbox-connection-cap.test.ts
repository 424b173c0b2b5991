import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { DIST_MAIN, requireDist, tempDir } from "./helpers/smtp-inbox.js";

/** More connections than a 1,024-descriptor process can hold, as in the reported failure. */
const FLOOD = 1_100;

let child: ChildProcess | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  child = undefined;
  stateDir = undefined;
});

/** `mail-events-mcp inbox` under `ulimit -n <files>` (1024 is a default Linux shell's). */
async function spawnLimitedInbox(files: number) {
  requireDist();
  stateDir = await tempDir();
  const proc = spawn(
    "sh",
    ["-c", `ulimit -n ${files} && exec "$0" "$1" inbox`, process.execPath, DIST_MAIN],
    {
      env: {
        PATH: process.env.PATH ?? "",
        MAIL_EVENTS_STATE_DIR: stateDir,
        MAIL_EVENTS_SMTP_PORT: "0",
        MAIL_EVENTS_HTTP_PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child = proc;
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const [first] = (await Promise.race([
    once(lines, "line"),
    once(proc, "exit").then(() => {
      throw new Error(`inbox exited: ${stderr}`);
    }),
  ])) as [string];
  const { smtp, http } = JSON.parse(first) as { smtp: string; http: string };
  return {
    proc,
    smtpPort: Number(new URL(smtp).port),
    httpPort: Number(new URL(http).port),
    stderr: () => stderr,
  };
}

/** Opens `count` idle TCP connections in batches; resolves with the sockets once all settled. */
async function flood(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, () => {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => {});
      sockets.push(socket);
      return new Promise<void>((resolve) => {
        socket.once("connect", () => resolve());
        socket.once("close", () => resolve());
      });
    });
    await Promise.all(batch);
  }
  return sockets;
}

/** Waits (up to 10 s) until the child's stderr matches `pattern`. */
async function stderrShows(stderr: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(stderr()) && Date.now() < deadline) await sleep(50);
}

async function health(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/health`);
  await res.arrayBuffer();
  return res.status;
}

describe("the local inbox under a flood of HTTP connections", () => {
  it.each([1024, 120])(
    "caps them under ulimit -n %i, says so once, and keeps taking mail and answering fresh requests",
    async (files) => {
      const inbox = await spawnLimitedInbox(files);
      if (files < 1024) {
        await stderrShows(inbox.stderr, /open-file limit/);
        expect(inbox.stderr()).toMatch(
          /open-file limit is 120 \(ulimit -n\); serving at most \d+ connections/,
        );
      }
      const sockets = await flood(inbox.httpPort, FLOOD);
      await stderrShows(inbox.stderr, /connections are open, the most it serves/);
      expect(inbox.stderr()).toMatch(/connections are open, the most it serves at once/);
      // While the flood holds its connections, mail still gets in.
      const id = await sendWithNodemailer(inbox.smtpPort, {
        from: "a@example.com",
        to: ["flood@example.com"],
        raw: "From: a@example.com\r\nTo: flood@example.com\r\nSubject: still here 424242\r\n\r\nbody\r\n",
      });
      expect(id).toBeTruthy();
      for (const s of sockets) s.destroy();
      expect(inbox.proc.exitCode).toBeNull();
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await health(inbox.httpPort).catch(() => 0);
        if (status !== 200) await sleep(100);
      }
      expect(status).toBe(200);
      const res = await fetch(
        `http://127.0.0.1:${inbox.httpPort}/v1/identities/flood%40example.com/events?since=0`,
      );
      expect(JSON.stringify(await res.json())).toContain("424242");
      const capLines = inbox.stderr().match(/the most it serves at once/g) ?? [];
      expect(capLines).toHaveLength(1);
      expect(inbox.stderr()).not.toMatch(/\n\s+at /);
    },
  );
});
