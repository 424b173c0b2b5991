import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { FileCursorStore } from "../src/cursors/file-cursor-store.js";
import { RedisCursorStore } from "../src/cursors/redis-cursor-store.js";
import type { CursorStore } from "../src/cursors/store.js";
import { silentLogger } from "../src/log.js";
import { parseStoreUrl } from "../src/store/store-url.js";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { startHarness, tempDir } from "./helpers/harness.js";
import { redisForFile } from "./helpers/redis-server.js";
import { until } from "./helpers/until.js";

const MAIN = join(import.meta.dirname, "..", "dist", "main.js");
const EMAILS = 30;

const { url: redisUrl, closers } = redisForFile();

type Wait = { found: boolean; email?: { id: string; subject: string } };

/** The built bin on the fake upstream, spoken to by the SDK's own client over stdio. */
async function bin(name: string, upstream: string, env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN],
    env: { PATH: process.env.PATH ?? "", MAIL_EVENTS_SOURCE: "inboxbase", MAIL_EVENTS_URL: upstream, ...env },
    stderr: "pipe",
  });
  const client = new Client({ name, version: "0" });
  await client.connect(transport);
  await client.listTools();
  closers.push(() => client.close());
  return client;
}

async function wait(client: Client, identity: string, timeoutSeconds: number): Promise<Wait> {
  const result = (await client.callTool(
    { name: "wait_for_email", arguments: { identity, timeoutSeconds, maxAgeSeconds: 600 } },
    undefined,
    { timeout: 60_000 },
  )) as CallToolResult;
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as Wait;
}

/**
 * Two servers loop waits on one identity while EMAILS arrive, in bursts that land while both
 * have a long-poll parked; then each drains what is left. Returns who got which email.
 */
async function race(fake: FakeInboxbase, servers: Client[], identity: string) {
  const got = new Map<string, string[]>();
  const note = (who: string, out: Wait) => {
    if (out.email) got.set(out.email.id, [...(got.get(out.email.id) ?? []), who]);
  };
  let produced = 0;
  const loops = servers.map(async (client, i) => {
    const giveUp = Date.now() + 60_000;
    for (let n = 0; n < 500 && produced < EMAILS && Date.now() < giveUp; n++) {
      note(`s${i}`, await wait(client, identity, 2));
    }
  });
  const producer = (async () => {
    while (produced < EMAILS) {
      // Both waits parked at the fake: the next email wakes both at the same instant.
      await until(() => fake.waiting >= servers.length, 20_000, "both waits to park").catch(() => {});
      const burst = Math.min(1 + (produced % 3), EMAILS - produced);
      for (let k = 0; k < burst; k++) {
        produced++;
        fake.email(identity, { from: "shop@acme.test", subject: `code ${produced}` });
      }
    }
  })();
  await Promise.all([producer, ...loops]);
  // Final drain: each server in turn until neither finds anything.
  for (let round = 0; round < EMAILS * 2; round++) {
    const outs = await Promise.all(servers.map((client) => wait(client, identity, 0.5)));
    for (const [i, out] of outs.entries()) note(`s${i}`, out);
    if (outs.every((out) => !out.found)) break;
  }
  return got;
}

function expectEachOnce(got: Map<string, string[]>, fake: FakeInboxbase, identity: string) {
  const twice = [...got].filter(([, who]) => who.length > 1);
  const ids = (fake.logs.get(identity) ?? []).map((e) => e.id);
  const missing = ids.filter((id) => !got.has(id));
  expect(twice, `returned by more than one wait: ${JSON.stringify(twice)}`).toEqual([]);
  expect(missing, "never returned").toEqual([]);
  expect(got.size).toBe(EMAILS);
}

describe("two servers waiting on one identity at the same instant", () => {
  it("on one Redis store, every email is returned exactly once across both", async () => {
    const fake = await new FakeInboxbase().start();
    closers.push(() => fake.close());
    const identity = "claims@x.test";
    fake.ensure(identity);
    const store = `${redisUrl()}/2`;
    const servers = await Promise.all(
      ["a", "b"].map(async (name) => {
        const stateDir = await tempDir(`claim-${name}-`);
        closers.push(() => rm(stateDir, { recursive: true, force: true }));
        return bin(name, fake.url, { MAIL_EVENTS_STATE_DIR: stateDir, MAIL_EVENTS_STORE: store });
      }),
    );
    expectEachOnce(await race(fake, servers, identity), fake, identity);
  }, 120_000);

  it("on one state directory (the file store), every email is returned exactly once across both", async () => {
    const fake = await new FakeInboxbase().start();
    closers.push(() => fake.close());
    const identity = "claims-file@x.test";
    fake.ensure(identity);
    const stateDir = await tempDir("claim-file-");
    closers.push(() => rm(stateDir, { recursive: true, force: true }));
    const servers = await Promise.all(
      ["a", "b"].map((name) => bin(name, fake.url, { MAIL_EVENTS_STATE_DIR: stateDir })),
    );
    expectEachOnce(await race(fake, servers, identity), fake, identity);
  }, 120_000);
});

/** Two stores on one durable copy: the file store on one state dir, or one Redis database. */
async function twoStores(
  kind: "file" | "redis",
  prefix: string,
): Promise<[CursorStore, CursorStore, string]> {
  const dir = await tempDir(`claim-${kind}-`);
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const open = async (): Promise<CursorStore> => {
    if (kind === "file") return FileCursorStore.open(dir, silentLogger);
    const spec = parseStoreUrl(`${redisUrl()}/3`);
    if (typeof spec === "string" || spec.kind !== "redis") throw new Error(String(spec));
    return new RedisCursorStore(spec, silentLogger, { prefix });
  };
  const a = await open();
  const b = await open();
  closers.push(
    () => a.close(),
    () => b.close(),
  );
  return [a, b, dir];
}

describe.each(["file", "redis"] as const)("a claim whose reply never went out (%s store)", (kind) => {
  /** A server on store `b` waiting on `identity`, with one email in the fake, and its source key. */
  async function setUp(prefix: string) {
    const fake = await new FakeInboxbase().start();
    closers.push(() => fake.close());
    const identity = `${prefix}@x.test`;
    const event = fake.email(identity, { from: "shop@acme.test", subject: "Your code is 123456" });
    const [a, b, dir] = await twoStores(kind, `${prefix}:`);
    const server = await startHarness({ fake, deps: { cursors: b }, stateDir: dir });
    closers.push(() => server.close());
    const source = `inboxbase ${fake.url}`;
    return { identity, event, a, server, source };
  }

  it("is let go at once: the next wait on another server returns the email", async () => {
    const { identity, event, a, server, source } = await setUp(`released-${kind}`);
    expect(await a.claim(source, identity, { id: event.id, order: event.seq }, undefined)).toEqual({
      claimed: true,
    });
    // The reply failed (an output validation error, a cancelled call): the claim is released.
    a.unclaim(source, identity, { id: event.id, order: event.seq }, undefined);
    await a.settled();
    // Well inside the claim's lease: only a released claim lets this wait have it.
    const got = await server.ok<Wait>("wait_for_email", { identity, timeoutSeconds: 2 });
    expect(got.email?.id).toBe(event.id);
  });

  it("of a claimer that died before replying lapses: a wait waiting on returns the email after the lease", async () => {
    const { identity, event, a, server, source } = await setUp(`lapsed-${kind}`);
    expect((await a.claim(source, identity, { id: event.id, order: event.seq }, undefined)).claimed).toBe(
      true,
    );
    await a.close(); // dies: neither delivered nor released
    const first = await server.ok<Wait>("wait_for_email", { identity, timeoutSeconds: 0.2 });
    expect(first.found).toBe(false);
    const got = await server.ok<Wait>("wait_for_email", { identity, timeoutSeconds: 30 });
    expect(got.email?.id).toBe(event.id);
    // Returned for good now: never again.
    expect((await server.ok<Wait>("wait_for_email", { identity, timeoutSeconds: 0.2 })).found).toBe(false);
  }, 60_000);
});
