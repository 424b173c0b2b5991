import { rm } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./helpers/cli-run.js";
import { textOf } from "./helpers/harness.js";
import { RedisServer } from "./helpers/redis-server.js";
import { sendWithPython } from "./helpers/smtp-client.js";
import { DIST_MAIN, requireDist, tempDir } from "./helpers/smtp-inbox.js";

// Two MCP servers as two machines would run them: each `serve` with its own state dir and its
// own embedded inbox on its own ports, one Redis store. The log is one; so must the cursors be.

interface Served {
  client: Client;
  smtpPort: number;
  close(): Promise<void>;
}

let redis: RedisServer;
const dirs: string[] = [];
const served: Served[] = [];

async function serve(name: string): Promise<Served> {
  const state = await tempDir();
  dirs.push(state);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [DIST_MAIN, "serve", "--store", redis.url],
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_STATE_DIR: state,
      MAIL_EVENTS_SMTP_PORT: "0",
      MAIL_EVENTS_HTTP_PORT: "0",
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => {
    stderr += d;
  });
  const client = new Client({ name, version: "0" });
  await client.connect(transport);
  await client.listTools();
  const ready = /ready: .*SMTP smtp:\/\/127\.0\.0\.1:(\d+)/;
  await until(() => ready.test(stderr), 15_000, `${name}'s inbox (stderr: ${stderr})`);
  return { client, smtpPort: Number(ready.exec(stderr)?.[1]), close: () => client.close() };
}

const call = async (s: Served, name: string, args: Record<string, unknown>) => {
  const result = (await s.client.callTool({ name, arguments: args }, undefined, {
    timeout: 30_000,
  })) as CallToolResult;
  expect(result.isError, textOf(result)).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
};

beforeAll(async () => {
  requireDist();
  redis = await RedisServer.start();
  served.push(await serve("machine-a"), await serve("machine-b"));
}, 60_000);

afterAll(async () => {
  for (const s of served) await s.close();
  await redis?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("two serve processes with their own inboxes on one Redis", () => {
  it("share one pull position and one never-twice set, though each serves the log on other ports", async () => {
    const [a, b] = served as [Served, Served];
    const identity = "fleet@x.test";
    for (let i = 1; i <= 6; i++) {
      await sendWithPython(i % 2 === 0 ? a.smtpPort : b.smtpPort, {
        from: "shop@x.test",
        to: [identity],
        raw: `From: shop@x.test\r\nTo: ${identity}\r\nSubject: mail ${i}\r\n\r\nNumber ${i}.\r\n`,
      });
    }
    const subjects = (page: Record<string, unknown>) =>
      (page.events as { data: { subject: string } }[]).map((e) => e.data.subject);
    const first = await call(a, "pull_events", { identity, limit: 3, timeoutMs: 0 });
    expect(subjects(first)).toEqual(["mail 1", "mail 2", "mail 3"]);
    // Machine B goes on where machine A's committed cursor stands.
    await until(
      async () => (await call(b, "get_cursor", { identity })).cursor !== null,
      10_000,
      "A's cursor to be visible to B",
    );
    const second = await call(b, "pull_events", { identity, limit: 10, timeoutMs: 0 });
    expect(subjects(second)).toEqual(["mail 4", "mail 5", "mail 6"]);

    const waited = await call(a, "wait_for_email", { identity, timeoutSeconds: 5 });
    expect((waited.email as { subject: string }).subject).toBe("mail 6");
    const next = await call(b, "wait_for_email", { identity, timeoutSeconds: 5 });
    expect((next.email as { subject: string }).subject).toBe("mail 5");
  }, 90_000);
});
