import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { tempDir } from "./harness.js";

const MAIN = join(import.meta.dirname, "..", "..", "dist", "main.js");

export interface StdioServer {
  client: Client;
  transport: StdioClientTransport;
  stateDir: string;
  /** Closes the client (which ends the server) and removes the state dir. */
  close(): Promise<void>;
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
): Promise<StdioServer> {
  const stateDir = await tempDir(`${name}-`);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN],
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_SOURCE: source,
      MAIL_EVENTS_URL: url,
      MAIL_EVENTS_STATE_DIR: stateDir,
    },
    stderr: "pipe",
  });
  const client = new Client({ name, version: "0" });
  await client.connect(transport);
  await client.listTools();
  return {
    client,
    transport,
    stateDir,
    async close() {
      await client.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
