import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { inboxPerTest, type TestInbox } from "./helpers/smtp-inbox.js";

const inbox = inboxPerTest();

const mail = (t: TestInbox, to: string, subject: string) =>
  sendWithNodemailer(t.inbox.smtpPort, {
    from: "sender@example.com",
    to: [to],
    raw: `From: sender@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`,
  });

/** Polls health until `waiting` is `n` (bounded: 40 tries). */
async function waitingBecomes(t: TestInbox, n: number): Promise<number> {
  let waiting = -1;
  for (let i = 0; i < 40 && waiting !== n; i++) {
    waiting = (await t.get("/v1/health")).json.waiting as number;
    if (waiting !== n) await sleep(25);
  }
  return waiting;
}

describe("the inboxbase endpoint of the local inbox", () => {
  it("answers an address that has had no mail with an empty page, not a 404", async () => {
    const t = await inbox();
    const { status, json } = await t.get("/v1/identities/nobody%40example.com/events?since=7");
    expect(status).toBe(200);
    expect(json).toMatchObject({ identity: "nobody@example.com", events: [], cursor: 7, hasMore: false });
  });

  it("rejects out-of-range parameters with a JSON 400 naming the parameter", async () => {
    const t = await inbox();
    const base = "/v1/identities/a%40example.com/events";
    const cases: [string, RegExp][] = [
      ["?since=-1", /since/],
      ["?since=abc", /since/],
      ["?limit=0", /limit must be a whole number from 1 to 200/],
      ["?limit=201", /limit/],
      ["?timeoutMs=25001", /timeoutMs must be a whole number from 0 to 25000/],
      ["?timeoutMs=1.5", /timeoutMs/],
    ];
    for (const [query, message] of cases) {
      const { status, json } = await t.get(`${base}${query}`);
      expect(status, query).toBe(400);
      expect(json.error, query).toMatch(message);
    }
    const badHandle = await t.get("/v1/identities/%E0%A4%A/events");
    expect(badHandle.status).toBe(400);
    expect(badHandle.json.error).toMatch(/URL encoding/);
    const unknown = await t.get("/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/\/v1\/identities/);
    const post = await fetch(`${t.inbox.httpUrl}${base}`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("requires the bearer token when one is set, but not for /v1/health", async () => {
    const t = await inbox({ token: "s3cret" });
    const path = "/v1/identities/a%40example.com/events";
    const none = await t.get(path);
    expect(none.status).toBe(401);
    expect(none.json.error).toMatch(/MAIL_EVENTS_TOKEN/);
    expect((await t.get(path, { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await t.get(path, { authorization: "Bearer s3cret" })).status).toBe(200);
    expect((await t.get("/v1/health")).json).toMatchObject({ ok: true, service: "mail-events-mcp-inbox" });
  });

  it("wakes a long-poll as soon as mail arrives, lower-casing the address", async () => {
    const t = await inbox();
    // The window outlasts this test's own timeout: an answer at all means it woke on arrival.
    const poll = t.get("/v1/identities/Wake%40Example.com/events?since=0&timeoutMs=25000");
    expect(await waitingBecomes(t, 1)).toBe(1);
    await mail(t, "wake@example.com", "wake up");
    const { json } = await poll;
    expect((json.events as { data: { subject: string } }[])[0]?.data.subject).toBe("wake up");
    expect(json.cursor).toBe((json.events as { seq: number }[])[0]?.seq);
  }, 20_000);

  it("ends an idle long-poll with an empty page at the end of its window", async () => {
    const t = await inbox();
    const started = performance.now();
    const { json } = await t.get("/v1/identities/idle%40example.com/events?since=0&timeoutMs=300");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(json).toMatchObject({ events: [], cursor: 0, hasMore: false, head: 0 });
  });

  it("answers at once, naming its epoch and head, a cursor from beyond its end or of another log", async () => {
    const t = await inbox();
    // Waiting out the 25 s window instead would abort these requests, and fail the test.
    const get = async (query: string) => {
      const res = await fetch(`${t.inbox.httpUrl}/v1/identities/idle%40example.com/events?${query}`, {
        signal: AbortSignal.timeout(15_000),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    const beyond = await get("since=3&timeoutMs=25000");
    expect(beyond).toMatchObject({ events: [], head: 0, epoch: expect.any(String) });
    const other = await get("since=0&epoch=old&timeoutMs=25000");
    expect(other).toMatchObject({ events: [], head: 0, epoch: beyond.epoch });
  });

  it("forgets a long-poll whose client hung up", async () => {
    const t = await inbox();
    const controllers = Array.from({ length: 10 }, () => new AbortController());
    const polls = controllers.map((c) =>
      fetch(`${t.inbox.httpUrl}/v1/identities/gone%40example.com/events?timeoutMs=20000`, {
        signal: c.signal,
      }).catch(() => undefined),
    );
    expect(await waitingBecomes(t, 10)).toBe(10);
    for (const c of controllers) c.abort();
    await Promise.all(polls);
    expect(await waitingBecomes(t, 0)).toBe(0);
  });

  it("advances the cursor past events a `types` filter skips", async () => {
    const t = await inbox();
    await mail(t, "filter@example.com", "one");
    await mail(t, "filter@example.com", "two");
    const { json } = await t.get("/v1/identities/filter%40example.com/events?since=0&types=email.replied");
    expect(json.events).toEqual([]);
    expect(json.cursor).toBe(2);
    const wildcard = await t.get("/v1/identities/filter%40example.com/events?since=0&types=email.*");
    expect(wildcard.json.events).toHaveLength(2);
  });

  it("pages with hasMore until the log is walked", async () => {
    const t = await inbox();
    for (let i = 0; i < 5; i++) await mail(t, "pages@example.com", `m${i}`);
    const seen: string[] = [];
    let since = 0;
    for (let i = 0; i < 5; i++) {
      const { json } = await t.get(`/v1/identities/pages%40example.com/events?since=${since}&limit=2`);
      for (const e of json.events as { data: { subject: string } }[]) seen.push(e.data.subject);
      since = json.cursor as number;
      if (!json.hasMore) break;
    }
    expect(seen).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  it("serves the event shape of the hosted API", async () => {
    const t = await inbox();
    await mail(t, "shape@example.com", "shape");
    const [event] = await t.events("shape@example.com");
    expect(event).toMatchObject({
      seq: 1,
      id: expect.stringMatching(/^evt_/),
      type: "email.received",
      ts: expect.any(Number),
      tsIso: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        from: "sender@example.com",
        to: ["shape@example.com"],
        subject: "shape",
        text: "body of shape\n",
        labels: [],
        hasAttachments: false,
        attachments: [],
      },
    });
  });

  it("ends a pending long-poll promptly when the inbox shuts down", async () => {
    const t = await inbox();
    const poll = fetch(`${t.inbox.httpUrl}/v1/identities/late%40example.com/events?timeoutMs=20000`).then(
      (r) => r.status,
      () => "closed",
    );
    expect(await waitingBecomes(t, 1)).toBe(1);
    // The window outlasts this test's own timeout: an answer at all means the close ended it.
    await t.inbox.close();
    await poll;
  }, 15_000);
});
