import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./helpers/cli-run.js";
import { textOf } from "./helpers/harness.js";
import { RedisServer } from "./helpers/redis-server.js";
import { sendWithPython } from "./helpers/smtp-client.js";
import { DIST_MAIN, requireDist } from "./helpers/smtp-inbox.js";
import { type EmbeddedInboxServer, spawnEmbeddedInboxServer } from "./helpers/stdio-server.js";

// Two MCP servers as two machines would run them: each `serve` with its own state dir and its
// own embedded inbox on its own ports, one Redis store. The log is one; so must the cursors be.

let redis: RedisServer;
const served: EmbeddedInboxServer[] = [];

const serve = (name: string) =>
  spawnEmbeddedInboxServer(name, {
    command: process.execPath,
    args: [DIST_MAIN, "serve", "--store", redis.url],
  });

const call = async (s: EmbeddedInboxServer, name: string, args: Record<string, unknown>) => {
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
});

describe("two serve processes with their own inboxes on one Redis", () => {
  it("share one pull position and one never-twice set, though each serves the log on other ports", async () => {
    const [a, b] = served as [EmbeddedInboxServer, EmbeddedInboxServer];
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
