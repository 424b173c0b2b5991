import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { pooledTransport, sendWithNodemailer } from "./helpers/smtp-client.js";
import { inboxPerTest, type TestInbox } from "./helpers/smtp-inbox.js";

const inbox = inboxPerTest();

const mail = (t: TestInbox, to: string, subject: string, from = "sender@example.com") =>
  sendWithNodemailer(t.inbox.smtpPort, {
    from,
    to: [to],
    raw: `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\ncode 424242\r\n`,
  });

interface Frame {
  event?: string;
  id?: string;
  data?: Record<string, unknown>;
  comment?: string;
}

/** An SSE connection whose raw text and parsed frames grow as bytes arrive. */
function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const frames: Frame[] = [];
  let text = "";
  let waiter: (() => void) | undefined;
  const ready = fetch(url, { headers, signal: controller.signal });
  const ended = (async () => {
    const res = await ready;
    if (!res.body) return res.status;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body) {
        const s = decoder.decode(chunk as Uint8Array, { stream: true });
        text += s;
        buffer += s;
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const frame: Frame = {};
          for (const line of buffer.slice(0, end).split("\n")) {
            if (line.startsWith(":")) frame.comment = line.slice(1).trim();
            else if (line.startsWith("event: ")) frame.event = line.slice(7);
            else if (line.startsWith("id: ")) frame.id = line.slice(4);
            else if (line.startsWith("data: "))
              frame.data = JSON.parse(line.slice(6)) as Record<string, unknown>;
          }
          frames.push(frame);
          buffer = buffer.slice(end + 2);
          waiter?.();
        }
      }
    } catch {
      // aborted by the test
    }
    waiter?.();
    return res.status;
  })();
  const events = () => frames.filter((f) => f.data !== undefined);
  return {
    ready,
    ended,
    frames,
    text: () => text,
    events,
    /** Resolves once `n` data frames arrived (bounded by `ms`). */
    async until(n: number, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (events().length < n && Date.now() < deadline) {
        await Promise.race([
          new Promise<void>((r) => (waiter = r)),
          ended,
          new Promise((r) => setTimeout(r, 50)),
        ]);
      }
      return events();
    },
    close: () => controller.abort(),
  };
}

describe("the mails SSE dialect of the local inbox", () => {
  it("streams message.received frames with ids, keepalives, and closes after its window", async () => {
    // A window long enough for one SMTP delivery on a busy machine (it took 2–4.6 s under load).
    const t = await inbox({ mailsWindowMs: 6_000, mailsKeepaliveMs: 150 });
    const started = performance.now();
    const stream = openStream(`${t.inbox.httpUrl}/v1/events?mailbox=Live%40Example.com`);
    expect((await stream.ready).headers.get("content-type")).toMatch(/^text\/event-stream/);
    await mail(t, "live@example.com", "live one");
    const [frame] = await stream.until(1);
    expect(frame?.event).toBe("message.received");
    expect(frame?.id).toMatch(/^evt_/);
    expect(frame?.data).toMatchObject({
      event: "message.received",
      email_id: frame?.id,
      mailbox: "live@example.com",
      from: "sender@example.com",
      subject: "live one",
      received_at: expect.stringMatching(/Z$/),
      labels: [],
      has_attachments: false,
    });
    expect(await stream.ended).toBe(200);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(5_900);
    expect(stream.text()).toContain(": keepalive");
  });

  it("resumes after Last-Event-ID, and from an ISO `since` inclusively", async () => {
    const t = await inbox({ mailsWindowMs: 600 });
    for (const s of ["first", "second", "third"]) await mail(t, "resume@example.com", s);
    const all = await t.events("resume@example.com");
    const resumed = openStream(`${t.inbox.httpUrl}/v1/events?mailbox=resume@example.com`, {
      "last-event-id": all[0]?.id as string,
    });
    await resumed.ended;
    expect(resumed.events().map((f) => f.data?.subject)).toEqual(["second", "third"]);
    const since = encodeURIComponent(all[1]?.tsIso as string);
    const bySince = openStream(`${t.inbox.httpUrl}/v1/events?mailbox=resume@example.com&since=${since}`);
    await bySince.ended;
    expect(bySince.events().map((f) => f.data?.subject)).toEqual(["second", "third"]);
  });

  it("streams all mail without a mailbox, filters by types, and rejects a bad `since`", async () => {
    const t = await inbox({ mailsWindowMs: 600 });
    await mail(t, "x@example.com", "to x");
    await mail(t, "y@example.com", "to y");
    const first = (await t.events("*"))[0]?.id as string;
    const everything = openStream(`${t.inbox.httpUrl}/v1/events`, { "last-event-id": first });
    await everything.ended;
    expect(everything.events().map((f) => f.data?.mailbox)).toEqual(["y@example.com"]);
    const filtered = openStream(`${t.inbox.httpUrl}/v1/events?types=message.bounced`, {
      "last-event-id": first,
    });
    await filtered.ended;
    expect(filtered.events()).toEqual([]);
    const bad = await t.get("/v1/events?since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/ISO 8601/);
  });
});

describe("the molted SSE dialect of the local inbox", () => {
  it("replays after `since`, then goes live, with the id only inside data", async () => {
    const t = await inbox();
    for (const s of ["old", "missed 1", "missed 2"]) await mail(t, "tenant@example.com", s);
    const since = (await t.events("tenant@example.com"))[0]?.id as string;
    const stream = openStream(
      `${t.inbox.httpUrl}/v1/agent/events/stream?tenantId=tenant@example.com&since=${encodeURIComponent(since)}`,
      { accept: "text/event-stream" },
    );
    expect((await stream.until(2)).map((f) => f.data?.subject)).toEqual(["missed 1", "missed 2"]);
    await mail(t, "tenant@example.com", "live");
    const events = await stream.until(3);
    stream.close();
    expect(events[2]?.data).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      type: "inbound.routed",
      timestamp: expect.stringMatching(/Z$/),
      tenantId: "tenant@example.com",
      contactEmail: "sender@example.com",
      subject: "live",
    });
    expect(events.every((f) => f.id === undefined && f.event === undefined)).toBe(true);
    expect(new Set(events.map((f) => f.data?.id)).size).toBe(3);
  });

  it("filters by contactEmail and eventTypes wildcards, and requires tenantId", async () => {
    const t = await inbox();
    const stream = openStream(
      `${t.inbox.httpUrl}/v1/agent/events/stream?tenantId=*&eventTypes=inbound.*&contactEmail=Boss@Corp.example`,
    );
    await stream.ready;
    await mail(t, "a@example.com", "from someone else", "other@corp.example");
    await mail(t, "a@example.com", "from the boss", "boss@corp.example");
    const events = await stream.until(1);
    stream.close();
    expect(events.map((f) => f.data?.subject)).toEqual(["from the boss"]);
    const none = openStream(
      `${t.inbox.httpUrl}/v1/agent/events/stream?tenantId=*&eventTypes=delivery.bounced`,
      {},
    );
    await none.ready;
    await mail(t, "a@example.com", "not a bounce");
    expect(await none.until(1, 300)).toEqual([]);
    none.close();
    const missing = await t.get("/v1/agent/events/stream");
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/tenantId is required/);
  });
});

describe("the inbox's SSE routes resume without gaps and drop clients that do not read", () => {
  it("opens with an id-only frame, so a client that saw no event resumes without losing the mail that landed in between", async () => {
    const t = await inbox({ mailsWindowMs: 300 });
    await mail(t, "gap@example.com", "before the connection");
    const quiet = openStream(`${t.inbox.httpUrl}/v1/events?mailbox=gap@example.com`);
    await quiet.ended;
    expect(quiet.events()).toEqual([]);
    const opening = quiet.frames.find((f) => f.id !== undefined && f.data === undefined);
    expect(opening?.id).toMatch(/^evt_/);
    await mail(t, "gap@example.com", "in the reconnect gap");
    const resumed = openStream(`${t.inbox.httpUrl}/v1/events?mailbox=gap@example.com`, {
      "last-event-id": opening?.id as string,
    });
    await resumed.ended;
    expect(resumed.events().map((f) => f.data?.subject)).toEqual(["in the reconnect gap"]);
  });

  for (const [why, id] of [
    ["an old epoch's", "evt_0123456789abcdef_2"],
    ["an unknown", "evt_made_up"],
  ] as const) {
    it(`replays from the start of the current log after ${why} Last-Event-ID, instead of going live`, async () => {
      const t = await inbox({ mailsWindowMs: 400 });
      for (const s of ["one", "two"]) await mail(t, "epoch@example.com", s);
      const stream = openStream(`${t.inbox.httpUrl}/v1/events?mailbox=epoch@example.com`, {
        "last-event-id": id,
      });
      await stream.ended;
      expect(stream.events().map((f) => f.data?.subject)).toEqual(["one", "two"]);
    });
  }

  it("drops a client that never reads when its window ends, with no listener piling up", async () => {
    const t = await inbox({ mailsWindowMs: 3_000, mailsKeepaliveMs: 20 });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    const { hostname, port } = new URL(t.inbox.httpUrl);
    const socket = connect(Number(port), hostname);
    socket.pause(); // never reads until the end of the test
    socket.write(`GET /v1/events?mailbox=slow@example.com HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
    const opened = Date.now();
    const transport = pooledTransport(t.inbox.smtpPort, 4);
    const body = `${"x".repeat(99)}\r\n`.repeat(2_700); // ~270 KB: a 256 KiB frame each
    const COUNT = 80;
    try {
      await Promise.all(
        Array.from({ length: COUNT }, (_, i) =>
          transport.sendMail({
            envelope: { from: "bulk@example.com", to: ["slow@example.com"] },
            raw: `From: bulk@example.com\r\nTo: slow@example.com\r\nSubject: bulk ${i}\r\n\r\n${body}`,
          }),
        ),
      );
    } finally {
      transport.close();
    }
    // Past the window, read what the kernel kept: the stream must end without the rest.
    const windowOver = opened + 3_000 + 500;
    while (Date.now() < windowOver) await new Promise((r) => setTimeout(r, 50));
    let received = "";
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.resume();
    // Ended by the server: the socket closed (a queue past its cap), or the response finished
    // (what was queued fit the kernel's buffers; the keep-alive socket may stay open).
    const deadline = Date.now() + 10_000;
    let closedByServer = false;
    closed.then(() => {
      closedByServer = true;
    });
    while (!closedByServer && !received.endsWith("\r\n0\r\n\r\n") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    process.off("warning", onWarning);
    socket.destroy();
    expect(closedByServer || received.endsWith("\r\n0\r\n\r\n")).toBe(true);
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
  }, 60_000);
});
