import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../src/sources/http-client.js";
import { readSse, type SseMessage } from "../src/sources/sse-reader.js";
import { until } from "./helpers/until.js";

/** A stream exercising every field, comments, CRLF and multi-byte characters. */
const BODY = [
  ": keepalive\n\n",
  "retry: 1500\n\n",
  'event: message.received\nid: evt_1\ndata: {"subject":"Código 847293 ✉️"}\n\n',
  ": keepalive\r\n\r\n",
  "id: evt_2\r\nevent: message.sent\r\ndata: line one\r\ndata: line two\r\n\r\n",
  'data: {"type":"delivery.sent","eventId":"e3"}\n\n',
  "unknown: ignored\nevent: x\ndata:no-space\n\n",
].join("");

const EXPECTED: SseMessage[] = [
  { id: "evt_1", event: "message.received", data: '{"subject":"Código 847293 ✉️"}' },
  { id: "evt_2", event: "message.sent", data: "line one\nline two" },
  { id: undefined, event: undefined, data: '{"type":"delivery.sent","eventId":"e3"}' },
  { id: undefined, event: "x", data: "no-space" },
];

let url = "";
const opens: string[] = [];
const closes: string[] = [];
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const u = new URL(req.url ?? "/", "http://x");
  opens.push(u.pathname);
  res.on("close", () => closes.push(u.pathname));
  if (u.pathname === "/auth") {
    res.writeHead(401, { "content-type": "application/json" });
    res.end('{"error":"bad key"}');
    return;
  }
  if (u.pathname === "/json") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  if (u.pathname === "/split") {
    const bytes = Buffer.from(BODY);
    const at = Number(u.searchParams.get("at"));
    res.write(bytes.subarray(0, at));
    // A pause makes the two halves separate TCP reads on the client.
    setTimeout(() => res.end(bytes.subarray(at)), 2);
  } else if (u.pathname === "/endless") {
    const timer = setInterval(() => res.write("x".repeat(4096)), 1);
    res.on("close", () => clearInterval(timer));
    res.write("data: ");
  } else if (u.pathname === "/id-only") {
    res.end("id: evt_start\n\n: keepalive\n\nid: evt_1\ndata: one\n\nid: evt_moved\r\n\r\ndata: two\n\n");
  } else if (u.pathname === "/many-data-lines") {
    const timer = setInterval(() => res.write("data: x\n".repeat(512)), 1);
    res.on("close", () => clearInterval(timer));
  } else if (u.pathname === "/hang") {
    res.write(": hello\n\n");
  }
});

const http = new HttpClient({ slackMs: 1_000 });
beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await http.close();
  server.closeAllConnections();
  server.close();
});

async function read(path: string, options: { signal?: AbortSignal; maxBufferChars?: number } = {}) {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  await readSse(
    http,
    {
      url: new URL(path, url),
      signal: options.signal ?? new AbortController().signal,
      idleMs: 5_000,
      ...(options.maxBufferChars === undefined ? {} : { maxBufferChars: options.maxBufferChars }),
    },
    { onMessage: (m) => messages.push(m), onRetry: (ms) => retries.push(ms) },
  );
  return { messages, retries };
}

describe("readSse", () => {
  it("parses the same frames whatever byte the stream is cut at", async () => {
    const length = Buffer.byteLength(BODY);
    for (let at = 0; at <= length; at++) {
      const { messages, retries } = await read(`/split?at=${at}`);
      expect(messages, `cut at byte ${at}`).toEqual(EXPECTED);
      expect(retries).toEqual([1500]);
    }
  });

  it("drops a connection whose line never ends, with UPSTREAM_BAD_PAYLOAD", async () => {
    const error = await read("/endless", { maxBufferChars: 64 * 1024 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UPSTREAM_BAD_PAYLOAD" });
    expect(String((error as Error).message)).toMatch(/without completing a line/);
    await until(() => closes.includes("/endless"));
  });

  it("honours an id-only frame: the last id moves, no event is emitted", async () => {
    const ids: string[] = [];
    const messages: SseMessage[] = [];
    await readSse(
      http,
      { url: new URL("/id-only", url), signal: new AbortController().signal, idleMs: 5_000 },
      { onMessage: (m) => messages.push(m), onId: (id) => ids.push(id) },
    );
    expect(ids).toEqual(["evt_start", "evt_moved"]);
    expect(messages).toEqual([
      { id: "evt_1", event: undefined, data: "one" },
      { id: undefined, event: undefined, data: "two" },
    ]);
  });

  it("drops a connection whose event never ends (endless data lines), with UPSTREAM_BAD_PAYLOAD", async () => {
    const error = await read("/many-data-lines", { maxBufferChars: 64 * 1024 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UPSTREAM_BAD_PAYLOAD" });
    expect(String((error as Error).message)).toMatch(/without completing an event/);
    await until(() => closes.includes("/many-data-lines"));
  });

  it("closes the socket as soon as the call is cancelled", async () => {
    const controller = new AbortController();
    const before = closes.filter((p) => p === "/hang").length;
    const opened = opens.filter((p) => p === "/hang").length;
    const reading = read("/hang", { signal: controller.signal }).catch((e: unknown) => e);
    await until(() => opens.filter((p) => p === "/hang").length > opened);
    controller.abort();
    expect(await reading).toMatchObject({ code: "ABORTED" });
    await until(() => closes.filter((p) => p === "/hang").length > before);
  });

  it("maps 401 to UPSTREAM_AUTH naming MAIL_EVENTS_TOKEN", async () => {
    const error = await read("/auth").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UPSTREAM_AUTH" });
    expect(String((error as Error).message)).toContain("MAIL_EVENTS_TOKEN");
  });

  it("refuses a response that is not an event stream", async () => {
    expect(await read("/json").catch((e: unknown) => e)).toMatchObject({ code: "UPSTREAM_BAD_PAYLOAD" });
  });
});
