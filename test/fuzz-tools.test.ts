import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeInboxbase } from "./fakes/inboxbase-server.js";
import { fuzzSeed } from "./helpers/fuzz-seed.js";
import { textOf } from "./helpers/harness.js";
import { type StdioServer, spawnStdioServer } from "./helpers/stdio-server.js";

const TOOLS = ["wait_for_email", "pull_events", "get_cursor", "set_cursor"] as const;
const IDENTITIES = ["fuzz@x.test", "Fuzz+tag@x.test", "../../etc/passwd", "*", "%2F", "unknown@x.test"];
/** Our tool errors: `[CODE] what happened; what to do`. */
const TOOL_ERROR = /^\[[A-Z_]+\] \S/;
/** The SDK rejects out-of-schema input before a handler runs, with its own prefix. */
// The SDK looks tools up on a plain object, so a made-up name such as `valueOf` finds a
// prototype method and is answered "disabled" rather than "not found": both are fine here.
const SDK_VALIDATION = /^MCP error -32602: (Input validation error|Tool [\s\S]* (not found|disabled))/;

let fake: FakeInboxbase;
let server: StdioServer;
let client: Client;
let transport: StdioClientTransport;

beforeAll(async () => {
  fake = await new FakeInboxbase().start();
  for (const identity of IDENTITIES.slice(0, 5)) {
    for (let i = 0; i < 30; i++)
      fake.email(identity, {
        from: "shop@x.test",
        subject: `Your code is ${100_000 + i}`,
        html: "<p>Click <a href='https://x.test/verify?t=1'>verify</a></p>",
      });
  }
  server = await spawnStdioServer("fuzz-tools", fake.url);
  ({ client, transport } = server);
});

afterAll(async () => {
  await server?.close();
  await fake?.close();
});

/** Any JSON value, weighted towards the edges tool inputs meet. */
const edgy = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 1, 0.5, 1e308, -1e308, 2 ** 53, 200, 201, 25_000, 25_001, 600, 601, null, true, ""),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("/(a+)+$/", "/[/", "/x/gimsuyz", "a,b,,c", "delivery.*", "\u0000", "🙂".repeat(200)),
  fc.constantFrom(...IDENTITIES),
  fc.string({ minLength: 300, maxLength: 700 }),
);

const KEYS = [
  "identity",
  "from",
  "subject",
  "contains",
  "timeoutSeconds",
  "maxAgeSeconds",
  "since",
  "types",
  "limit",
  "timeoutMs",
  "commit",
  "cursor",
] as const;

const identity = fc.oneof(fc.constantFrom(...IDENTITIES), fc.string({ minLength: 1, maxLength: 50 }));
const filter = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.constantFrom("/(a+)+$/", "/code/i", "/[/", "code"),
);

/** Inputs inside the schemas, so the handlers (not only the SDK's validation) get exercised. */
const wellFormed = fc.oneof(
  fc.record({
    name: fc.constant("wait_for_email"),
    args: fc.record(
      {
        identity,
        from: filter,
        subject: filter,
        contains: filter,
        maxAgeSeconds: fc.integer({ min: 0, max: 2_592_000 }),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    name: fc.constant("pull_events"),
    args: fc.record(
      {
        identity,
        since: fc.oneof(fc.nat(), fc.string({ minLength: 1, maxLength: 20 })),
        types: fc.oneof(
          fc.array(fc.constantFrom("email.received", "email.sent", "x.*"), { maxLength: 3 }),
          fc.string(),
        ),
        limit: fc.integer({ min: 1, max: 200 }),
        timeoutMs: fc.integer({ min: 0, max: 50 }),
        commit: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ name: fc.constant("get_cursor"), args: fc.record({ identity }, { requiredKeys: [] }) }),
  fc.record({
    name: fc.constant("set_cursor"),
    args: fc.record({ identity, cursor: fc.oneof(fc.nat(), fc.string({ minLength: 1, maxLength: 20 })) }),
  }),
);

const random = fc.record({
  name: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...TOOLS) }, { weight: 1, arbitrary: fc.string() }),
  args: fc.oneof(
    fc.dictionary(fc.constantFrom(...KEYS), edgy, { maxKeys: 6 }),
    fc.dictionary(fc.string({ maxLength: 8 }), edgy, { maxKeys: 3 }),
  ),
});

/** Keeps every call short: a valid wait or long-poll window is cut to a fraction of a second. */
function bounded(name: string, args: Record<string, unknown>): Record<string, unknown> {
  const out = { ...args };
  if (name === "wait_for_email") {
    const t = out.timeoutSeconds;
    if (t === undefined || (typeof t === "number" && t >= 0 && t <= 600)) out.timeoutSeconds = 0.05;
  }
  if (name === "pull_events") {
    const t = out.timeoutMs;
    if (typeof t === "number" && t > 50 && t <= 25_000) out.timeoutMs = 50;
  }
  return out;
}

const call = fc.oneof(wellFormed, random);

describe("fuzzing the tools through the real client", () => {
  it("answers random inputs with a valid result or a clear tool error, and stays up", async () => {
    const seen = { ok: 0, toolError: 0, sdkValidation: 0 };
    await fc.assert(
      fc.asyncProperty(call, async ({ name, args }) => {
        const result = (await client.callTool({ name, arguments: bounded(name, args) }, undefined, {
          timeout: 10_000,
        })) as CallToolResult;
        const text = textOf(result);
        if (result.isError) {
          expect(text).not.toMatch(/^\[INTERNAL\]/);
          expect(text).toMatch(new RegExp(`${TOOL_ERROR.source}|${SDK_VALIDATION.source}`));
          if (TOOL_ERROR.test(text)) seen.toolError++;
          else seen.sdkValidation++;
        } else {
          // The client already checked structuredContent against the tool's outputSchema.
          expect(result.structuredContent).toBeTypeOf("object");
          expect(text.length).toBeGreaterThan(0);
          seen.ok++;
        }
      }),
      { numRuns: 400, seed: fuzzSeed("fuzz-tools") },
    );
    process.stderr.write(`fuzz-tools: ${JSON.stringify(seen)}\n`);
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.toolError).toBeGreaterThan(20);
    expect(seen.toolError + seen.sdkValidation).toBeGreaterThan(0);
    // Still the same process, still answering.
    expect(transport.pid).not.toBeNull();
    const after = (await client.callTool({
      name: "pull_events",
      arguments: { identity: "fuzz@x.test", since: 0, limit: 1, commit: false },
    })) as CallToolResult;
    expect(after.isError).toBeFalsy();
  }, 60_000);
});
