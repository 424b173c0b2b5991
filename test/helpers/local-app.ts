import { rm } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type App, openApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import type { RunningInbox } from "../../src/inbox/index.js";
import { createServer } from "../../src/server.js";
import { memoryLogger, tempDir } from "./smtp-inbox.js";

export interface LocalApp {
  inbox: RunningInbox;
  stateDir: string;
  /** A tool call's full result (errors included). */
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
  /** Structured content of a successful call; throws with the text of a tool error. */
  tool<T = Record<string, unknown>>(name: string, args: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The server as main.ts builds it (openApp + createServer) on its in-process local inbox, on
 * free loopback ports and a fresh state dir, with a real MCP Client over an in-memory link.
 */
export async function startLocalApp(): Promise<LocalApp> {
  const stateDir = await tempDir();
  const { config } = loadConfig(
    { MAIL_EVENTS_STATE_DIR: stateDir, MAIL_EVENTS_SMTP_PORT: "0", MAIL_EVENTS_HTTP_PORT: "0" },
    [],
  );
  const app: App = await openApp(config, memoryLogger());
  const inbox = await (app.inbox as Promise<RunningInbox>);
  const built = createServer(app.deps);
  const client = new Client({ name: "local-app-test", version: "0" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await built.server.connect(b);
  await client.connect(a);
  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }) as Promise<CallToolResult>;
  return {
    inbox,
    stateDir,
    call,
    async tool<T>(name: string, args: Record<string, unknown>) {
      const result = await call(name, args);
      if (result.isError) throw new Error(JSON.stringify(result.content));
      return result.structuredContent as T;
    },
    async close() {
      await client.close();
      await built.cleanup();
      await app.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
