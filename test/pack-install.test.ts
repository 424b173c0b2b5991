// The package as a user gets it: `npm pack`, then `npm install <tarball>` in an empty folder
// outside the repo (so no dev node_modules can be reached), then the installed bin serves MCP
// over stdio and receives mail. Everything the bin loads must come from the tarball.
import { execFile } from "node:child_process";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer } from "./helpers/redis-server.js";
import { sendWithPython } from "./helpers/smtp-client.js";
import { requireDist, tempDir } from "./helpers/smtp-inbox.js";
import { spawnEmbeddedInboxServer } from "./helpers/stdio-server.js";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "..");

let work: string;
let app: string;
let packed: string[];

beforeAll(async () => {
  requireDist();
  work = await tempDir("mail-events-pack-");
  expect(work.startsWith(tmpdir())).toBe(true);
  // `--ignore-scripts`: prepack's clean build would empty dist/ under the other test files
  // running now; `npm test` has just built it.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: REPO,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  packed = (info?.files ?? []).map((f) => f.path);
  app = join(work, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "pack-check", private: true }));
  await run(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      join(work, info?.filename ?? ""),
    ],
    { cwd: app, timeout: 240_000, env: { ...process.env, NODE_PATH: "" } },
  );
}, 300_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("holds only what runs: the bundle, its chunks, package.json and README", () => {
    expect(packed).toContain("dist/main.js");
    expect(packed.some((p) => p.startsWith("dist/chunks/"))).toBe(true);
    const extra = packed.filter(
      (p) => !/^dist\/main\.js$|^dist\/chunks\/[\w-]+\.js$|^package\.json$|^README\.md$|^LICENSE/.test(p),
    );
    expect(extra).toEqual([]);
  });

  it("installs with a bin that serves over stdio and returns an email sent to the inbox it starts", async () => {
    const server = await spawnEmbeddedInboxServer("pack-check", {
      command: join(app, "node_modules", ".bin", "mail-events-mcp"),
      args: [],
      cwd: app,
    });
    try {
      const tools = (await server.client.listTools()).tools.map((t) => t.name).sort();
      expect(tools).toEqual(["get_cursor", "get_email", "pull_events", "set_cursor", "wait_for_email"]);
      // HTML mail: the MIME parser and html-to-text load from the package's own chunks.
      await sendWithPython(server.smtpPort, {
        from: "noreply@shop.example",
        to: ["agent@example.test"],
        raw:
          "From: noreply@shop.example\r\nTo: agent@example.test\r\nSubject: Your code\r\n" +
          "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
          '<p>Your code is <b>739214</b>.</p><p><a href="https://shop.example/verify?t=1">Verify</a></p>\r\n',
      });
      const result = (await server.client.callTool({
        name: "wait_for_email",
        // A /regex/ filter runs on re2js.
        arguments: { identity: "agent@example.test", subject: "/your\\s+code/i", timeoutSeconds: 20 },
      })) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      const found = result.structuredContent as {
        found: boolean;
        email: { codes: string[]; links: string[] };
      };
      expect(found.found).toBe(true);
      expect(found.email.codes).toEqual(["739214"]);
      expect(found.email.links).toEqual(["https://shop.example/verify?t=1"]);
      expect(server.stderr()).not.toMatch(/Cannot find|ERR_MODULE_NOT_FOUND|INTERNAL/);
    } finally {
      await server.close();
    }
  });

  it("keeps cursors on Redis with the installed bin (the Redis client loads from the package)", async () => {
    const redis = await RedisServer.start();
    const state = await tempDir("mail-events-pack-redis-");
    try {
      const bin = join(app, "node_modules", ".bin", "mail-events-mcp");
      const env = {
        PATH: process.env.PATH ?? "",
        MAIL_EVENTS_STATE_DIR: state,
        MAIL_EVENTS_STORE: redis.url,
        MAIL_EVENTS_SOURCE: "mails",
        MAIL_EVENTS_URL: "http://127.0.0.1:9",
      };
      const { stdout } = await run(bin, ["cursor", "agent@example.test"], { cwd: app, env, timeout: 30_000 });
      expect(JSON.parse(stdout)).toMatchObject({ identity: "agent@example.test", cursor: null });
    } finally {
      await redis.close();
      await rm(state, { recursive: true, force: true });
    }
  });
});

// The installed tree has the package's own files, nothing from this repo's src/ or test/.
it("installs no source or test file", async () => {
  const files = await readdir(join(app, "node_modules", "mail-events-mcp"), { recursive: true });
  expect(files.filter((f) => /(^|\/)(src|test|build)(\/|$)|\.ts$/.test(f))).toEqual([]);
});
