import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach } from "vitest";
import { type InboxOptions, type RunningInbox, startInbox } from "../../src/inbox/index.js";
import type { Logger } from "../../src/log.js";

export const tempDir = (prefix = "mail-events-inbox-") => mkdtemp(join(tmpdir(), prefix));

/**
 * The built CLI. Tests that spawn it need `npm run build` first (`npm test` does it);
 * MAIL_EVENTS_TEST_MAIN points them at another build.
 */
export const DIST_MAIN =
  process.env.MAIL_EVENTS_TEST_MAIN ?? join(import.meta.dirname, "..", "..", "dist", "main.js");

export function requireDist(): void {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` first`);
}

/** A logger that keeps its lines, so tests can assert on warnings. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
}

export interface TestInbox {
  inbox: RunningInbox;
  stateDir: string;
  log: ReturnType<typeof memoryLogger>;
  /** GET a path on the inbox's HTTP side; `json` is the parsed body. */
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Events of one identity from `since`, through the inboxbase endpoint. */
  events(identity: string, query?: string): Promise<Record<string, unknown>[]>;
  /** Stops the inbox; the state dir stays (for a restart) unless `remove`. */
  close(remove?: boolean): Promise<void>;
}

/** An inbox in this process on free loopback ports with a fresh (or given) state dir. */
export async function startTestInbox(options: Partial<InboxOptions> = {}): Promise<TestInbox> {
  const stateDir = options.stateDir ?? (await tempDir());
  const log = memoryLogger();
  const inbox = await startInbox({ smtpPort: 0, httpPort: 0, log, ...options, stateDir });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${inbox.httpUrl}${path}`, { headers });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return {
    inbox,
    stateDir,
    log,
    get,
    async events(identity, query = "since=0&limit=200") {
      const { status, json } = await get(`/v1/identities/${encodeURIComponent(identity)}/events?${query}`);
      if (status !== 200) throw new Error(`HTTP ${status}: ${JSON.stringify(json)}`);
      return json.events as Record<string, unknown>[];
    },
    async close(remove = false) {
      await inbox.close();
      if (remove) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * `inbox(options)` for a test file: starts a test inbox that is closed, state dir and all,
 * after each test. Registers an `afterEach`, so call it at the top level of the file.
 */
export function inboxPerTest(): (options?: Partial<InboxOptions>) => Promise<TestInbox> {
  const open: TestInbox[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close(true);
  });
  return async (options = {}) => {
    const started = await startTestInbox(options);
    open.push(started);
    return started;
  };
}

/**
 * `dir()` for a test file: a fresh temp dir, removed after the file's last test. Registers
 * an `afterAll`, so call it at the top level of the file.
 */
export function tempDirsPerFile(): () => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  return async () => {
    const d = await tempDir();
    dirs.push(d);
    return d;
  };
}

/** A port that was free a moment ago (for tests that need fixed ports in two processes). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  return typeof address === "object" && address !== null ? address.port : 0;
}

export interface SpawnedInbox {
  child: ChildProcess;
  smtpPort: number;
  httpUrl: string;
  stderr(): string;
}

/** `node dist/main.js inbox` on ports 0; resolves once it has printed its addresses. */
export async function spawnInbox(stateDir: string, env: Record<string, string> = {}): Promise<SpawnedInbox> {
  requireDist();
  const child = spawn(process.execPath, [DIST_MAIN, "inbox"], {
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_STATE_DIR: stateDir,
      MAIL_EVENTS_SMTP_PORT: "0",
      MAIL_EVENTS_HTTP_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await Promise.race([
    once(lines, "line").then(([line]) => line as string),
    once(child, "exit").then(([code]) => {
      throw new Error(`inbox exited with ${code}: ${stderr}`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`inbox did not start: ${stderr}`)), 10_000),
    ),
  ]);
  const { smtp, http } = JSON.parse(first) as { smtp: string; http: string };
  return { child, smtpPort: Number(new URL(smtp).port), httpUrl: http, stderr: () => stderr };
}
