import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { FileCursorStore } from "../../src/cursors/file-cursor-store.js";
import { silentLogger } from "../../src/log.js";
import { createServer, type ServerDeps } from "../../src/server.js";
import { HttpClient } from "../../src/sources/http-client.js";
import { InboxbaseSource } from "../../src/sources/inboxbase.js";
import { FakeInboxbase } from "../fakes/inboxbase-server.js";

export const tempDir = (prefix = "mail-events-") => mkdtemp(join(tmpdir(), prefix));

export interface Harness {
  fake: FakeInboxbase;
  client: Client;
  stateDir: string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Structured content of a successful call; throws with the text of a tool error. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** A new server + client on the same state directory and upstream (a "restart"). */
  restart(): Promise<Harness>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  stateDir?: string;
  fake?: FakeInboxbase;
  token?: string;
  deps?: Partial<ServerDeps>;
  http?: ConstructorParameters<typeof HttpClient>[0];
}

export const textOf = (result: CallToolResult): string =>
  result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

/** The server exactly as main.ts builds it, over a real in-memory MCP link to a real Client. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const fake = options.fake ?? (await new FakeInboxbase().start());
  const stateDir = options.stateDir ?? (await tempDir());
  const http = new HttpClient({
    token: options.token,
    slackMs: 1_000,
    backoffMs: 20,
    maxBackoffMs: 200,
    ...options.http,
  });
  const cursors = await FileCursorStore.open(stateDir, silentLogger);
  const source = new InboxbaseSource({ url: fake.url, http });
  const { connect, cleanup } = createServer({ source, cursors, ...options.deps });
  const client = new Client({ name: "test", version: "0" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await connect(b);
  await client.connect(a);
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Promise<CallToolResult>;
  /** Everything this harness built, in reverse order; the fake and state dir may outlive it. */
  const stop = async () => {
    await client.close();
    await cleanup();
    await source.close();
    await cursors.close();
    await http.close();
  };
  const harness: Harness = {
    fake,
    client,
    stateDir,
    call,
    async ok<T>(name: string, args: Record<string, unknown> = {}) {
      const result = await call(name, args);
      if (result.isError) throw new Error(textOf(result));
      return result.structuredContent as T;
    },
    async restart() {
      await stop();
      return startHarness({ ...options, fake, stateDir });
    },
    async close() {
      await stop();
      if (options.fake === undefined) await fake.close();
      if (options.stateDir === undefined) await rm(stateDir, { recursive: true, force: true });
    },
  };
  return harness;
}
