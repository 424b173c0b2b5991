import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { tempDir } from "./harness.js";
import { inspectorUrlIn, openHeapProbe } from "./heap-probe.js";
import { freePort } from "./smtp-inbox.js";
import { until } from "./until.js";

const MAIN = join(import.meta.dirname, "..", "..", "dist", "main.js");

export interface StdioServer {
  client: Client;
  transport: StdioClientTransport;
  stateDir: string;
  /** The last 64 KiB the server wrote to stderr. */
  stderr(): string;
  /** Closes the client (which ends the server) and removes the state dir. */
  close(): Promise<void>;
}

export interface InspectedStdioServer extends StdioServer {
  /** The server's heap after a full garbage collection, MiB. */
  liveHeapMiB(): Promise<number>;
}

/**
 * The built server (`node dist/main.js`) on an upstream at `url` (inboxbase unless told) with a fresh state
 * dir, spoken to over stdio by the SDK's own client. The client lists the tools first, so it
 * checks every structuredContent against the tool's outputSchema.
 */
export async function spawnStdioServer(
  name: string,
  url: string,
  source: "inboxbase" | "mails" | "molted" = "inboxbase",
  nodeArgs: string[] = [],
): Promise<StdioServer> {
  const stateDir = await tempDir(`${name}-`);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...nodeArgs, MAIN],
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_SOURCE: source,
      MAIL_EVENTS_URL: url,
      MAIL_EVENTS_STATE_DIR: stateDir,
    },
    stderr: "pipe",
  });
  // Read stderr always: on Linux a pipe write blocks, so a server whose stderr nobody
  // reads stops once the pipe is full.
  let stderr = "";
  transport.stderr?.on("data", (d) => {
    stderr = `${stderr}${d}`.slice(-64 * 1024);
  });
  const client = new Client({ name, version: "0" });
  await client.connect(transport);
  await client.listTools();
  return {
    client,
    transport,
    stateDir,
    stderr: () => stderr,
    async close() {
      await client.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * The same, with the inspector on a loopback port, so a test can read the server's live heap
 * and tell a leak from garbage not yet collected.
 */
export async function spawnInspectedStdioServer(
  name: string,
  url: string,
  source: "inboxbase" | "mails" | "molted" = "inboxbase",
): Promise<InspectedStdioServer> {
  const server = await spawnStdioServer(name, url, source, ["--inspect=127.0.0.1:0"]);
  await until(() => inspectorUrlIn(server.stderr()) !== undefined, 10_000, "the inspector's address");
  const probe = await openHeapProbe(inspectorUrlIn(server.stderr()) as string);
  return {
    ...server,
    liveHeapMiB: () => probe.liveHeapMiB(),
    async close() {
      probe.close();
      await server.close();
    },
  };
}

export interface EmbeddedInboxServer extends StdioServer {
  smtpPort: number;
  stderr(): string;
}

/**
 * The server as a user first runs it — no source configured, so its embedded inbox starts —
 * on free ports and a fresh state dir, spoken to by the SDK's client; resolves once the
 * inbox has said it is ready. `command` is the built bin unless told (an installed `.bin`).
 */
export async function spawnEmbeddedInboxServer(
  name: string,
  command: { command: string; args: string[]; cwd?: string } = { command: process.execPath, args: [MAIN] },
): Promise<EmbeddedInboxServer> {
  const stateDir = await tempDir(`${name}-`);
  const smtpPort = await freePort();
  const transport = new StdioClientTransport({
    ...command,
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_STATE_DIR: stateDir,
      MAIL_EVENTS_SMTP_PORT: String(smtpPort),
      MAIL_EVENTS_HTTP_PORT: String(await freePort()),
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => {
    stderr += d;
  });
  const client = new Client({ name, version: "0" });
  const close = async () => {
    await client.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await client.connect(transport);
    await client.listTools();
    await until(
      () => /^mail-events-mcp: ready: .*smtp:\/\//m.test(stderr),
      15_000,
      `the inbox (stderr: ${stderr})`,
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { client, transport, stateDir, smtpPort, stderr: () => stderr, close };
}
