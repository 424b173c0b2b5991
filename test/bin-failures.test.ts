import { execFile, execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIST_MAIN, freePort, requireDist, tempDir } from "./helpers/smtp-inbox.js";
import { until } from "./helpers/until.js";

const STACK_LINE = /\n\s+at [^\n]+[:(]/;

let scratch: string;
const mounts: string[] = [];
const immutables: string[] = [];
beforeAll(async () => {
  requireDist();
  scratch = await tempDir("mail-events-bin-");
});
afterAll(async () => {
  for (const dir of immutables) {
    try {
      execFileSync("chattr", ["-i", dir], { stdio: "ignore" });
    } catch {}
  }
  for (const dir of mounts) {
    try {
      execFileSync("umount", [dir]);
    } catch {}
  }
  await chmod(scratch, 0o700).catch(() => {});
  await rm(scratch, { recursive: true, force: true });
});

const baseEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "",
  MAIL_EVENTS_STATE_DIR: join(scratch, "state"),
  MAIL_EVENTS_SMTP_PORT: "0",
  MAIL_EVENTS_HTTP_PORT: "0",
  ...extra,
});

/** Runs the bin to its end (killed after 15 s, which a test then reports as a hang). */
function run(args: string[], env: Record<string, string>, input?: string) {
  return new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [DIST_MAIN, ...args],
      { env, timeout: 15_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (error.killed ? "hung" : (error.code ?? -1)) : 0;
        resolve({ code: code as number | string, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/**
 * A folder nothing can be written to. Not root: mode 0500. Root ignores modes, so a read-only
 * tmpfs is mounted instead, or (where mounting is refused, as in most containers) the folder
 * is made immutable with `chattr +i`, which binds root too; where neither works (no
 * e2fsprogs, a filesystem without the attribute), the reason is returned.
 */
async function readOnlyDir(name: string): Promise<{ dir: string } | { skip: string }> {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o500);
    return { dir };
  }
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir], { stdio: "ignore" });
    mounts.push(dir);
    return { dir };
  } catch {}
  try {
    execFileSync("chattr", ["+i", dir], { stdio: "ignore" });
    immutables.push(dir);
    return { dir };
  } catch {
    return {
      skip: "running as root where neither a read-only tmpfs mount nor chattr +i is allowed: no read-only folder to test",
    };
  }
}

describe("--help and --version", () => {
  it.each([
    [["--help"], /^mail-events-mcp \d+\.\d+\.\d+ — /],
    [["-h"], /Usage:/],
    [["wait", "--help"], /Usage:/],
    [["--version"], /^\d+\.\d+\.\d+\n$/],
    [["--help", "--colour"], /Usage:/],
  ])("%j works whatever the environment holds", async (args, out) => {
    const { code, stdout, stderr } = await run(
      args,
      baseEnv({
        MAIL_EVENTS_SMTP_PORT: "banana",
        MAIL_EVENTS_SOURCE: "gmail",
        MAIL_EVENTS_URL: "not a url",
        MAIL_EVENTS_STATE_DIR: "/proc/nope",
      }),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(out);
    expect(stderr).toBe("");
  });
});

describe("configuration errors", () => {
  it.each([
    [
      { MAIL_EVENTS_SOURCE: "inboxbase", MAIL_EVENTS_URL: "https://user:hunter22@api.example.test/" },
      /MAIL_EVENTS_URL/,
    ],
    [
      {
        MAIL_EVENTS_SOURCE: "inboxbase",
        MAIL_EVENTS_URL: "ftp://user:hunter22@api.example.test/?key=k3y-777",
      },
      /MAIL_EVENTS_URL/,
    ],
    [
      {
        MAIL_EVENTS_SOURCE: "inboxbase",
        MAIL_EVENTS_URL: "https://api.example.test/?token=hunter22",
        MAIL_EVENTS_SMTP_PORT: "banana",
      },
      /MAIL_EVENTS_SMTP_PORT/,
    ],
    [
      { MAIL_EVENTS_SOURCE: "gmail", MAIL_EVENTS_URL: "https://u:hunter22@api.example.test" },
      /MAIL_EVENTS_SOURCE/,
    ],
    [{ MAIL_EVENTS_SOURCE: "mails" }, /MAIL_EVENTS_URL \(--url\) is required/],
  ])("say which variable is wrong and never show a credential or the token (%j)", async (bad, names) => {
    const env = baseEnv({ MAIL_EVENTS_TOKEN: "tok-hunter22", ...bad });
    const { code, stdout, stderr } = await run([], env);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(names);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).not.toContain("hunter22");
    expect(stderr).not.toContain("k3y-777");
  });

  it("masks the token when it is pasted into another variable", async () => {
    const { code, stderr } = await run(
      [],
      baseEnv({
        MAIL_EVENTS_TOKEN: "tok-zz9-secret",
        MAIL_EVENTS_SOURCE: "inboxbase",
        MAIL_EVENTS_URL: "tok-zz9-secret",
      }),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/MAIL_EVENTS_URL/);
    expect(stderr).not.toContain("tok-zz9-secret");
  });

  it("names an unknown command as the user's mistake, not a bug", async () => {
    const { code, stderr } = await run(["frobnicate"], baseEnv());
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^mail-events-mcp: \[CONFIG_INVALID\] unknown command "frobnicate"; .*run mail-events-mcp --help\)?\n$/,
    );
  });
});

describe("a state directory that cannot be used", () => {
  const oneClearLine = (stderr: string) => {
    expect(stderr).toMatch(/\[?STATE_DIR|state directory/);
    expect(stderr).toMatch(/set MAIL_EVENTS_STATE_DIR \(--state-dir\) to a writable folder/);
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stderr).not.toMatch(/bug/);
  };

  it.each([["inbox"], ["serve"], ["wait"]])(
    "/proc/nope: `%s` exits at once with one line",
    async (command) => {
      const { code, stderr } = await run(
        command === "serve"
          ? []
          : command === "wait"
            ? ["wait", "a@example.com", "--timeout", "1"]
            : ["inbox"],
        baseEnv({ MAIL_EVENTS_STATE_DIR: "/proc/nope" }),
      );
      expect(code).toBe(2);
      oneClearLine(stderr);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toContain("/proc/nope");
    },
  );

  it("a path through a file: `inbox` exits with one line", async () => {
    const file = join(scratch, "a-file");
    await writeFile(file, "x");
    const { code, stderr } = await run(["inbox"], baseEnv({ MAIL_EVENTS_STATE_DIR: join(file, "state") }));
    expect(code).toBe(2);
    oneClearLine(stderr);
    expect(stderr).toMatch(/is a file, not a folder/);
  });

  it("read-only: `inbox` exits with one line", async (ctx) => {
    const ro = await readOnlyDir("ro-inbox");
    if ("skip" in ro) return ctx.skip(ro.skip);
    const { code, stderr } = await run(["inbox"], baseEnv({ MAIL_EVENTS_STATE_DIR: ro.dir }));
    expect(code).toBe(2);
    oneClearLine(stderr);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("read-only: `serve` stays up and its tools answer [STATE_DIR], not INTERNAL", async (ctx) => {
    const ro = await readOnlyDir("ro-serve");
    if ("skip" in ro) return ctx.skip(ro.skip);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [DIST_MAIN],
      env: baseEnv({ MAIL_EVENTS_STATE_DIR: ro.dir, MAIL_EVENTS_IDENTITY: "ro@example.com" }),
      stderr: "pipe",
    });
    let stderr = "";
    transport.stderr?.on("data", (d) => {
      stderr += d;
    });
    const client = new Client({ name: "ro-test", version: "0" });
    await client.connect(transport);
    try {
      for (const [name, args] of [
        ["pull_events", {}],
        ["wait_for_email", { timeoutSeconds: 1 }],
      ] as const) {
        const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
        const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("");
        expect(result.isError, name).toBe(true);
        expect(text, name).toMatch(
          /^\[STATE_DIR\] cannot use the state directory .*; set MAIL_EVENTS_STATE_DIR/,
        );
      }
    } finally {
      await client.close();
    }
    oneClearLine(stderr);
  });
});

describe("a stdin line longer than 10 MiB", () => {
  it("is answered with an error, and the server goes on answering and exits cleanly at EOF", async () => {
    const httpPort = await freePort();
    const child = spawn(process.execPath, [DIST_MAIN], {
      env: baseEnv({ MAIL_EVENTS_STATE_DIR: join(scratch, "big"), MAIL_EVENTS_HTTP_PORT: String(httpPort) }),
    });
    const messages: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => {
      messages.push(JSON.parse(line) as Record<string, unknown>);
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const reply = async (id: number) => {
      const found = () => messages.find((m) => m.id === id);
      await until(() => found() !== undefined, 15_000, `the reply to ${id}`).catch((error: Error) => {
        throw new Error(`${error.message}; stderr: ${stderr}`);
      });
      return found() as Record<string, unknown>;
    };
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "big", version: "0" } },
    });
    await reply(1);
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "pull_events", arguments: { identity: "x".repeat(11 * 1024 * 1024) } },
    });
    send({ jsonrpc: "2.0", id: 3, method: "tools/list" });
    const refused = await reply(2);
    expect(refused.error).toMatchObject({
      code: -32600,
      message: expect.stringMatching(/longer than 10 MiB/),
    });
    const listed = (await reply(3)) as { result: { tools: unknown[] } };
    expect(listed.result.tools.length).toBeGreaterThan(3);
    // A second oversized line, this one never ended, then EOF: still a clean, prompt exit.
    child.stdin.write(
      `{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"x":"${"y".repeat(11 * 1024 * 1024)}`,
    );
    child.stdin.end();
    const exited = () => child.exitCode !== null || child.signalCode !== null;
    await until(exited, 10_000, "the server to exit at EOF").catch(() => child.kill("SIGKILL"));
    expect(child.exitCode).toBe(0);
    expect(stderr).toMatch(/dropped a JSON-RPC message longer than 10 MiB from stdin \(request id 2\)/);
    expect(stderr).not.toMatch(STACK_LINE);
    // Its inbox's port is free again.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(httpPort, "127.0.0.1", () => resolve());
    });
    probe.close();
  });
});
