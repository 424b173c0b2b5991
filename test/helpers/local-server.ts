import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type App, openApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import type { RunningInbox } from "../../src/inbox/index.js";
import { createServer } from "../../src/server.js";
import { memoryLogger } from "./smtp-inbox.js";

export interface LocalServer {
  app: App;
  inbox: RunningInbox;
  log: ReturnType<typeof memoryLogger>;
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Structured content of a successful call; throws with the text of a tool error. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The MCP server on the local source, built exactly as main.ts builds it (loadConfig →
 * openApp → createServer → connect), with a real SDK Client over an in-memory link.
 */
export async function startLocalServer(env: Record<string, string>): Promise<LocalServer> {
  const { config } = loadConfig({ MAIL_EVENTS_SMTP_PORT: "0", MAIL_EVENTS_HTTP_PORT: "0", ...env }, []);
  const log = memoryLogger();
  const app = await openApp(config, log);
  const inbox = await (app.inbox as Promise<RunningInbox>);
  const built = createServer(app.deps);
  const client = new Client({ name: "local-server-test", version: "0" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await built.connect(b);
  await client.connect(a);
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }) as Promise<CallToolResult>;
  return {
    app,
    inbox,
    log,
    client,
    call,
    async ok<T>(name: string, args: Record<string, unknown> = {}) {
      const result = await call(name, args);
      if (result.isError)
        throw new Error(result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n"));
      return result.structuredContent as T;
    },
    async close() {
      await client.close();
      await built.cleanup();
      await app.close();
    },
  };
}
