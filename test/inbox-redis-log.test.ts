import { createHash } from "node:crypto";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./helpers/cli-run.js";
import { textOf } from "./helpers/harness.js";
import { RedisServer } from "./helpers/redis-server.js";
import { pooledTransport, sendWithNodemailer, sendWithPython } from "./helpers/smtp-client.js";
import { DIST_MAIN, requireDist, type SpawnedInbox, spawnInbox, tempDir } from "./helpers/smtp-inbox.js";

// Two `inbox` processes (the built bin, each with its own state dir and ports) on one Redis:
// one log, seen whole through either process.

type Event = { seq: number; id: string; data: { subject: string; raw: { sha256: string } } };

let redis: RedisServer;
let a: SpawnedInbox;
let b: SpawnedInbox;
const dirs: string[] = [];

beforeAll(async () => {
  requireDist();
  redis = await RedisServer.start();
  const env = { MAIL_EVENTS_STORE: redis.url };
  for (let i = 0; i < 2; i++) dirs.push(await tempDir());
  [a, b] = await Promise.all([spawnInbox(dirs[0] as string, env), spawnInbox(dirs[1] as string, env)]);
}, 60_000);

afterAll(async () => {
  for (const inbox of [a, b]) {
    if (inbox === undefined || inbox.child.exitCode !== null) continue;
    inbox.child.kill("SIGTERM");
    await once(inbox.child, "exit");
  }
  await redis?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Every event of `identity` through one inbox's cursor endpoint, page by page. */
async function allEvents(inbox: SpawnedInbox, identity: string): Promise<Event[]> {
  const out: Event[] = [];
  let since = 0;
  for (let page = 0; page < 100; page++) {
    const res = await fetch(
      `${inbox.httpUrl}/v1/identities/${encodeURIComponent(identity)}/events?since=${since}&limit=200`,
    );
    const body = (await res.json()) as { events: Event[]; cursor: number; hasMore: boolean };
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
    out.push(...body.events);
    since = body.cursor;
    if (!body.hasMore) break;
  }
  return out;
}

const mail = (to: string, subject: string) =>
  `From: shop@x.test\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nHello, ${subject}.\r\n`;

describe("the local inbox's log on Redis Streams, served by two inbox processes", () => {
  it("mail sent to either process shows in both, in one order, with unique increasing seqs", async () => {
    const total = 200;
    const transports = [pooledTransport(a.smtpPort, 4), pooledTransport(b.smtpPort, 4)];
    try {
      const replies = await Promise.all(
        Array.from({ length: total }, (_, i) =>
          (transports[i % 2] as ReturnType<typeof pooledTransport>).sendMail({
            envelope: { from: "shop@x.test", to: ["team@x.test"] },
            raw: mail("team@x.test", `n${i}`),
          }),
        ),
      );
      for (const reply of replies) expect(reply.response).toMatch(/^250 /);
    } finally {
      for (const t of transports) t.close();
    }
    let fromA: Event[] = [];
    let fromB: Event[] = [];
    await until(
      async () => {
        [fromA, fromB] = await Promise.all([allEvents(a, "team@x.test"), allEvents(b, "team@x.test")]);
        return fromA.length === total && fromB.length === total;
      },
      20_000,
      "both processes to list every mail",
    );
    expect(fromB.map((e) => e.id)).toEqual(fromA.map((e) => e.id));
    const seqs = fromA.map((e) => e.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(new Set(fromA.map((e) => e.data.subject))).toEqual(
      new Set(Array.from({ length: total }, (_, i) => `n${i}`)),
    );
  }, 120_000);

  it("an SSE client on one process sees mail sent to the other", async () => {
    const controller = new AbortController();
    const res = await fetch(`${b.httpUrl}/v1/events?mailbox=sse@x.test`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    // The stream's first frame names where it starts: the stream is live from there on.
    while (!text.includes("\n\n")) text += decoder.decode((await reader.read()).value);
    expect(
      (
        await sendWithNodemailer(a.smtpPort, {
          from: "shop@x.test",
          to: ["sse@x.test"],
          raw: mail("sse@x.test", "over SSE"),
        })
      ).startsWith("250"),
    ).toBe(true);
    const giveUp = Date.now() + 20_000;
    while (!text.includes("over SSE") && Date.now() < giveUp) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    expect(text).toMatch(/event: message\.received\nid: evt_\w+_\d+\ndata: .*"subject":"over SSE"/);
  }, 60_000);

  it("a long-poll on one process, started before mail reaches the other, returns that mail", async () => {
    const head = (
      (await (await fetch(`${b.httpUrl}/v1/identities/lp%40x.test/events?since=0`)).json()) as {
        head: number;
      }
    ).head;
    const poll = fetch(`${b.httpUrl}/v1/identities/lp%40x.test/events?since=${head}&timeoutMs=25000`).then(
      async (res) => (await res.json()) as { events: Event[] },
    );
    const waiting = async () =>
      (((await (await fetch(`${b.httpUrl}/v1/health`)).json()) as { waiting: number }).waiting ?? 0) >= 1;
    await until(waiting, 10_000, "the long-poll to be parked");
    await sendWithPython(a.smtpPort, {
      from: "shop@x.test",
      to: ["lp@x.test"],
      raw: mail("lp@x.test", "long-polled"),
    });
    const { events } = await poll;
    expect(events.map((e) => e.data.subject)).toEqual(["long-polled"]);
  }, 60_000);

  it("a mail with a 3 MB attachment stays out of the stream, and either process serves its bytes", async () => {
    const attachment = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < attachment.length; i++) attachment[i] = (i * 7919) % 251;
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: a.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    try {
      const info = await transport.sendMail({
        from: "shop@x.test",
        to: "big@x.test",
        subject: "the big one",
        text: "see attached",
        attachments: [{ filename: "blob.bin", content: attachment, contentType: "application/octet-stream" }],
      });
      expect(info.response).toMatch(/^250 /);
    } finally {
      transport.close();
    }
    let events: Event[] = [];
    await until(
      async () => {
        events = await allEvents(b, "big@x.test");
        return events.length === 1;
      },
      10_000,
      "the big mail on B",
    );
    const [big] = events as [Event];
    const id = big.id;
    const client = redis.client();
    // The stream holds the bounded event and a reference; the bytes are in a key of their own.
    const entries = (await client.xrange("mail-events:inbox:log", `${big.seq}-0`, `${big.seq}-0`)) as [
      string,
      string[],
    ][];
    const record = entries[0]?.[1][1] ?? "";
    expect(record.length).toBeGreaterThan(0);
    expect(record.length).toBeLessThan(64 * 1024);
    expect(Number(await client.memory("USAGE", "mail-events:inbox:log"))).toBeLessThan(1024 * 1024);
    const rawKey = `mail-events:inbox:msg:${(JSON.parse(record) as { data: { raw: { file: string } } }).data.raw.file}`;
    expect(Number(await client.strlen(rawKey))).toBeGreaterThan(attachment.length);
    for (const inbox of [a, b]) {
      const raw = await fetch(`${inbox.httpUrl}/v1/messages/${encodeURIComponent(id)}/raw`);
      expect(raw.status).toBe(200);
      const bytes = Buffer.from(await raw.arrayBuffer());
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(big.data.raw.sha256);
      const file = await fetch(`${inbox.httpUrl}/v1/messages/${encodeURIComponent(id)}/attachments/0`);
      expect(file.status).toBe(200);
      expect(Buffer.from(await file.arrayBuffer()).equals(attachment)).toBe(true);
    }
  }, 60_000);

  it("wait_for_email through `serve --store redis://…` returns a mail sent over SMTP to a separate inbox process, and tools say STORE_UNAVAILABLE while Redis is frozen", async () => {
    const state = await tempDir();
    dirs.push(state);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [DIST_MAIN, "serve", "--store", redis.url],
      env: {
        PATH: process.env.PATH ?? "",
        MAIL_EVENTS_STATE_DIR: state,
        MAIL_EVENTS_SMTP_PORT: "0",
        MAIL_EVENTS_HTTP_PORT: "0",
      },
      stderr: "pipe",
    });
    let stderr = "";
    transport.stderr?.on("data", (d) => {
      stderr += d;
    });
    const client = new Client({ name: "redis-log", version: "0" });
    await client.connect(transport);
    try {
      await client.listTools();
      await until(() => /ready: .*HTTP (http:\/\/\S+)/.test(stderr), 15_000, "serve's inbox");
      const http = (/ready: .*HTTP (http:\/\/\S+?)\/?[;\s]/.exec(stderr) as RegExpExecArray)[1] as string;
      const waited = client.callTool(
        { name: "wait_for_email", arguments: { identity: "mcp@x.test", timeoutSeconds: 30 } },
        undefined,
        { timeout: 60_000 },
      ) as Promise<CallToolResult>;
      const parked = async () =>
        (((await (await fetch(`${http}/v1/health`)).json()) as { waiting?: number }).waiting ?? 0) >= 1;
      await until(parked, 15_000, "wait_for_email to be waiting on serve's inbox");
      await sendWithPython(a.smtpPort, {
        from: "shop@x.test",
        to: ["mcp@x.test"],
        raw: mail("mcp@x.test", "Your code is 731904"),
      });
      const result = await waited;
      expect(result.isError, textOf(result)).toBeFalsy();
      expect((result.structuredContent as { found: boolean }).found).toBe(true);
      expect(textOf(result)).toContain("731904");
      // Redis frozen: the tool says which store, and that it comes back by itself.
      redis.signal("SIGSTOP");
      try {
        const down = (await client.callTool(
          { name: "pull_events", arguments: { identity: "mcp@x.test", timeoutMs: 0 } },
          undefined,
          { timeout: 60_000 },
        )) as CallToolResult;
        expect(down.isError).toBe(true);
        expect(textOf(down)).toMatch(
          /^\[STORE_UNAVAILABLE\] .*redis:\/\/127\.0\.0\.1:\d+\/0.*check MAIL_EVENTS_STORE/,
        );
      } finally {
        redis.signal("SIGCONT");
      }
    } finally {
      await client.close();
    }
  }, 90_000);
});
