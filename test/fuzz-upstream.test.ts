import { readFileSync } from "node:fs";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Junk, JunkUpstream } from "./fakes/junk-upstream.js";
import { fuzzSeed } from "./helpers/fuzz-seed.js";
import { textOf } from "./helpers/harness.js";
import { type InspectedStdioServer, spawnInspectedStdioServer } from "./helpers/stdio-server.js";

const IDENTITY = "junk@x.test";
const TOOL_ERROR = /^\[[A-Z_]+\] \S/;
const MiB = 1024 * 1024;

let junk: JunkUpstream;
let server: InspectedStdioServer;
let client: Client;
let transport: StdioClientTransport;

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
const pid = () => {
  if (transport.pid === null) throw new Error("the server process is gone");
  return transport.pid;
};

beforeAll(async () => {
  junk = await new JunkUpstream().start();
  server = await spawnInspectedStdioServer("fuzz-upstream", junk.url);
  ({ client, transport } = server);
});

afterAll(async () => {
  await server?.close();
  await junk?.close();
});

/**
 * The live heap once the streams still in flight (a dropped connection's last read, the
 * keepalive pump) have let go: polled for up to 15 s, lowest value seen. A leak never drops.
 */
async function settledHeapMiB(target: InspectedStdioServer, before: number): Promise<number> {
  let lowest = await target.liveHeapMiB();
  const first = lowest;
  const deadline = Date.now() + 15_000;
  while (lowest - before >= 8 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    lowest = Math.min(lowest, await target.liveHeapMiB());
  }
  if (first !== lowest)
    process.stderr.write(
      `fuzz-upstream: live heap ${first.toFixed(1)} MiB at first, settled at ${lowest.toFixed(1)}\n`,
    );
  return lowest;
}

/** One call that must end in a valid result or a `[CODE]` tool error, never a crash or [INTERNAL]. */
async function callAgainstJunk(kind: "pull" | "wait", timeout = 15_000): Promise<CallToolResult> {
  const result = (await client.callTool(
    kind === "pull"
      ? { name: "pull_events", arguments: { identity: IDENTITY, since: 0, limit: 50, commit: false } }
      : {
          name: "wait_for_email",
          arguments: { identity: IDENTITY, timeoutSeconds: 0.05, maxAgeSeconds: 1e6 },
        },
    undefined,
    { timeout },
  )) as CallToolResult;
  if (result.isError) expect(textOf(result)).toMatch(TOOL_ERROR);
  expect(textOf(result)).not.toMatch(/^\[INTERNAL\]/);
  return result;
}

const page = (events: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ identity: IDENTITY, events, cursor: events.length, hasMore: false, ...extra });

const plausibleEvent = fc.record({
  seq: fc.nat({ max: 1000 }),
  id: fc.string(),
  type: fc.constantFrom("email.received", "email.sent", "mailbox.replaced"),
  ts: fc.integer({ min: 0, max: 2 ** 42 }),
  data: fc.record({ from: fc.string(), subject: fc.string(), text: fc.string(), html: fc.string() }),
});

/** Junk a broken, hostile or merely odd upstream might send, as one response. */
const junkArb: fc.Arbitrary<Junk> = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map((bytes) => ({ body: bytes })),
  fc.jsonValue({ maxDepth: 4 }).map((value) => ({ body: JSON.stringify(value) ?? "null" })),
  fc.tuple(fc.array(plausibleEvent, { maxLength: 20 }), fc.double({ min: 0, max: 1 })).map(([events, at]) => {
    const text = page(events);
    return { body: text.slice(0, Math.floor(text.length * at)) };
  }),
  fc
    .record({
      identity: fc.jsonValue({ maxDepth: 1 }),
      events: fc.array(
        fc.dictionary(
          fc.constantFrom("seq", "id", "type", "ts", "tsIso", "createdAt", "convId", "data", "x"),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        { maxLength: 20 },
      ),
      cursor: fc.jsonValue({ maxDepth: 1 }),
      hasMore: fc.jsonValue({ maxDepth: 1 }),
    })
    .map((body) => ({ body: JSON.stringify(body) })),
  fc.array(plausibleEvent, { maxLength: 20 }).map((events) => ({ body: page(events) })),
  fc
    .tuple(fc.constantFrom(400, 401, 403, 404, 405, 410, 418, 422), fc.string({ maxLength: 500 }))
    .map(([status, body]) => ({ status, body })),
  fc.string({ maxLength: 2000 }).map((body) => ({ contentType: "text/html", body })),
);

describe("junk from upstream", () => {
  it("never crashes the server: each call gets a valid result or a tool error", async () => {
    const counts = { ok: 0, error: 0 };
    await fc.assert(
      fc.asyncProperty(junkArb, fc.constantFrom("pull", "wait" as const), async (response, kind) => {
        junk.queue.length = 0;
        junk.queue.push(response);
        const result = await callAgainstJunk(kind);
        counts[result.isError ? "error" : "ok"]++;
      }),
      { numRuns: 300, seed: fuzzSeed("fuzz-upstream: inboxbase") },
    );
    expect(counts.error).toBeGreaterThan(10);
    expect(counts.ok).toBeGreaterThan(10);
    junk.queue.length = 0;
    expect((await callAgainstJunk("pull")).isError).toBeFalsy();
  }, 60_000);

  it("reads at most its body limit of a 10 MB answer, deep nesting or an endless stream, and memory stays bounded", async () => {
    junk.queue.length = 0;
    await callAgainstJunk("pull"); // warm up: undici, zod paths
    const heapBefore = await server.liveHeapMiB();
    const before = rssMiB(pid());
    const event = JSON.stringify({
      seq: 1,
      id: "e",
      type: "email.received",
      ts: 1,
      data: { text: "x".repeat(900) },
    });
    const huge = `{"events":[${Array.from({ length: 10 * 1024 }, () => event).join(",")}],"cursor":1}`;
    const cases: Junk[] = [
      { body: huge }, // ~10 MB of valid JSON
      { body: huge.slice(0, huge.length - 10) }, // ~10 MB, truncated
      { body: new Uint8Array(10 * MiB).fill(0x7b) }, // 10 MB of "{"
      { body: `${"[".repeat(500_000)}${"]".repeat(500_000)}` }, // deep nesting
      {
        // An endless stream of whitespace after a valid start, as fast as the socket takes it.
        write: (res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.write('{"events":[');
          const chunk = " ".repeat(64 * 1024);
          const pump = () => {
            while (!res.destroyed && res.write(chunk)) {}
            if (!res.destroyed) res.once("drain", pump);
          };
          pump();
        },
      },
    ];
    const perRound: number[] = [];
    for (let round = 0; round < 10; round++) {
      for (const response of cases) {
        junk.queue.length = 0;
        junk.queue.push(response);
        const result = await callAgainstJunk("pull");
        expect(result.isError).toBe(true);
      }
      perRound.push(rssMiB(pid()));
    }
    // A trickle that never ends: the client's own timeout cancels the call, which frees it.
    junk.queue.length = 0;
    junk.queue.push({
      write: (res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(" ")), 50);
      },
    });
    await expect(callAgainstJunk("pull", 1_000)).rejects.toThrow(/timed out/i);
    junk.queue.length = 0;
    expect((await callAgainstJunk("pull")).isError).toBeFalsy();
    const after = rssMiB(pid());
    const heapAfter = await settledHeapMiB(server, heapBefore);
    process.stderr.write(
      `fuzz-upstream: RSS ${before.toFixed(1)} → ${perRound.map((r) => r.toFixed(1)).join(" → ")} → ${after.toFixed(1)} MiB; ` +
        `live heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB\n`,
    );
    // What the process still holds after a full collection: a leak shows here, garbage not.
    expect(heapAfter - heapBefore).toBeLessThan(8);
    // Loose on purpose: a leak check, not a benchmark. Ten rounds read ~380 MiB of junk (each
    // body up to the 8 MiB limit); RSS rises and falls with garbage collection but must stay
    // far below what keeping the bodies would take.
    expect(Math.max(...perRound, after) - before).toBeLessThan(300);
  }, 60_000);
});

/** The SSE dialects: random and hostile frames, giant lines and endless streams. */
describe.each(["mails", "molted"] as const)("junk from a %s event stream", (dialect) => {
  let sse: JunkUpstream;
  let sseServer: InspectedStdioServer;
  const ssePid = () => {
    if (sseServer.transport.pid === null) throw new Error("the server process is gone");
    return sseServer.transport.pid;
  };

  beforeAll(async () => {
    sse = await new JunkUpstream().start();
    // Once the junk is spent, a stream that is valid, empty and ends.
    sse.fallback = { contentType: "text/event-stream", body: ": nothing\n\n" };
    sseServer = await spawnInspectedStdioServer(`fuzz-${dialect}`, sse.url, dialect);
  });
  afterAll(async () => {
    await sseServer?.close();
    await sse?.close();
  });

  async function pullOnce(timeout = 15_000, identity = IDENTITY): Promise<CallToolResult> {
    const result = (await sseServer.client.callTool(
      { name: "pull_events", arguments: { identity, since: 0, limit: 50, commit: false } },
      undefined,
      { timeout },
    )) as CallToolResult;
    if (result.isError) expect(textOf(result)).toMatch(TOOL_ERROR);
    expect(textOf(result)).not.toMatch(/^\[INTERNAL\]/);
    return result;
  }

  const field = fc.constantFrom(
    "data:",
    "data: ",
    "id: ",
    "id:",
    "event: ",
    "retry: ",
    ": ",
    "",
    "dat",
    "data",
  );
  const ending = fc.constantFrom("\n", "\r\n", "\r", "\n\n", "");
  const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null");
  const plausible = fc
    .record({
      id: fc.option(fc.string({ maxLength: 1_500 }), { nil: undefined }),
      type: fc.constantFrom("message.received", "inbound.routed", "delivery.sent", "x"),
      data: fc.dictionary(
        fc.constantFrom("email_id", "subject", "from", "received_at", "timestamp", "id", "eventId", "type"),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    })
    .map(
      (f) =>
        `${f.id === undefined ? "" : `id: ${f.id.replace(/[\r\n]/g, "")}\n`}event: ${f.type}\ndata: ${JSON.stringify(f.data)}\n\n`,
    );
  const frames: fc.Arbitrary<string> = fc.oneof(
    fc
      .array(fc.tuple(field, fc.oneof(fc.string({ maxLength: 200 }), json), ending), { maxLength: 40 })
      .map((lines) => lines.map(([f, v, e]) => `${f}${v}${e}`).join("")),
    fc.array(plausible, { maxLength: 20 }).map((list) => list.join("")),
    fc.uint8Array({ maxLength: 4096 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
  );
  const junkArb: fc.Arbitrary<Junk> = fc.oneof(
    frames.map((body) => ({ contentType: "text/event-stream", body })),
    fc
      .tuple(fc.constantFrom(400, 404, 429, 500, 503), fc.string({ maxLength: 300 }))
      .map(([status, body]) => ({ status, body })),
    fc.string({ maxLength: 500 }).map((body) => ({ contentType: "text/html", body })),
  );

  it("never crashes the server: each pull gets a valid result or a tool error", async () => {
    const counts = { ok: 0, error: 0 };
    await fc.assert(
      fc.asyncProperty(junkArb, async (response) => {
        sse.queue.length = 0;
        sse.queue.push(response);
        const result = await pullOnce();
        counts[result.isError ? "error" : "ok"]++;
      }),
      { numRuns: 40, seed: fuzzSeed(`fuzz-upstream: ${dialect}`) },
    );
    expect(counts.ok).toBeGreaterThan(5);
    sse.queue.length = 0;
    expect((await pullOnce()).isError).toBeFalsy();
  }, 120_000);

  it("drops giant lines, endless events and endless streams, and memory stays bounded", async () => {
    sse.queue.length = 0;
    await pullOnce(); // warm up
    const heapBefore = await sseServer.liveHeapMiB();
    const before = rssMiB(ssePid());
    const pump = (chunk: string, prefix = "") => ({
      write: (res: import("node:http").ServerResponse) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(prefix);
        const go = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once("drain", go);
        };
        go();
      },
    });
    const cases: Junk[] = [
      pump("x".repeat(64 * 1024), "data: "), // one line that never ends
      pump("data: y\n".repeat(8 * 1024)), // one event that never ends
      pump("x".repeat(64 * 1024), "id: "), // an id line that never ends
      { contentType: "text/event-stream", body: `data: ${"z".repeat(3 * MiB)}\n\n` }, // a 3 MiB event
    ];
    const perRound: number[] = [];
    let dropped = 0;
    for (let round = 0; round < 5; round++) {
      for (const response of cases) {
        sse.queue.length = 0;
        sse.queue.push(response);
        // A pull may end (quiet: no event yet) before the cap is reached; the dropped
        // connection's error then surfaces on the next pull.
        // A fresh identity per case: its own connection, not a quiet one still open.
        const result = await pullOnce(15_000, `big${round}-${cases.indexOf(response)}@x.test`);
        if (result.isError) {
          expect(textOf(result)).toMatch(/^\[UPSTREAM_BAD_PAYLOAD\]/);
          dropped++;
        }
      }
      perRound.push(rssMiB(ssePid()));
    }
    expect(dropped).toBeGreaterThan(0);
    // Endless keepalives are a healthy, quiet stream: the pull ends with an empty page.
    sse.queue.length = 0;
    sse.queue.push(pump(": keepalive\n\n"));
    const quiet = await pullOnce();
    expect(quiet.isError).toBeFalsy();
    sse.queue.length = 0;
    expect((await pullOnce()).isError).toBeFalsy();
    const after = rssMiB(ssePid());
    const heapAfter = await settledHeapMiB(sseServer, heapBefore);
    process.stderr.write(
      `fuzz-upstream: ${dialect} RSS ${before.toFixed(1)} → ${perRound.map((r) => r.toFixed(1)).join(" → ")} → ${after.toFixed(1)} MiB; ` +
        `live heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB\n`,
    );
    // RSS climbs round over round with garbage V8 has not collected yet (20 dropped 1 MiB
    // lines); what the process still holds after a full collection is flat.
    expect(heapAfter - heapBefore).toBeLessThan(8);
    // Garbage of 1 MiB lines lingers until V8 collects it, so the peak is allowed room; an
    // unbounded reader (what this guards against) grows by gigabytes here.
    expect(Math.max(...perRound, after) - before).toBeLessThan(250);
  }, 120_000);
});
