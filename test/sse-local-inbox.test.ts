import { afterEach, describe, expect, it } from "vitest";
import { HttpClient } from "../src/sources/http-client.js";
import { MailsSource } from "../src/sources/mails.js";
import { MoltedSource } from "../src/sources/molted.js";
import type { Source } from "../src/sources/source.js";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { startTestInbox } from "./helpers/smtp-inbox.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(make: (url: string, http: HttpClient) => Source) {
  const t = await startTestInbox();
  const http = new HttpClient({ slackMs: 1_000 });
  const source = make(t.inbox.httpUrl, http);
  cleanups.push(async () => {
    await source.close();
    await http.close();
    await t.close(true);
  });
  const send = (to: string, subject: string) =>
    sendWithNodemailer(t.inbox.smtpPort, {
      from: "shop@example.com",
      to: [to],
      raw: `From: shop@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nYour code is 424242\r\n`,
    });
  const again = () => {
    const fresh = make(t.inbox.httpUrl, http);
    cleanups.push(() => fresh.close());
    return fresh;
  };
  /** Resolves once a reader is parked on the inbox's log (bounded: ~5 s). */
  const parked = async () => {
    const deadline = Date.now() + 5_000;
    while (((await t.get("/v1/health")).json.waiting as number) === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
  };
  return { source, send, again, parked };
}

/** The embedded inbox serves both SSE dialects from its log: the clients must read it. */
describe("SSE sources against the local inbox", () => {
  for (const [kind, make] of [
    ["mails", (url: string, http: HttpClient) => new MailsSource({ url, http })],
    ["molted", (url: string, http: HttpClient) => new MoltedSource({ url, http })],
  ] as const) {
    it(`${kind}: mail sent over SMTP arrives once, across pulls and a restart`, async () => {
      const { source, send, again, parked } = await setup(make);
      const identity = "me@local.test";
      const signal = new AbortController().signal;
      const since = await source.seek({ identity, notBefore: Date.now() - 60_000, after: null, signal });
      const first = source.pull({ identity, since, types: [], limit: 10, timeoutMs: 5_000, signal });
      await parked();
      await send(identity, "one");
      const page = await first;
      expect(page.events.map((e) => e.email?.subject)).toEqual(["one"]);
      await send(identity, "two");
      const next = await source.pull({
        identity,
        since: page.position,
        types: [],
        limit: 10,
        timeoutMs: 5_000,
        signal,
      });
      expect(next.events.map((e) => e.email?.subject)).toEqual(["two"]);
      // A restart resumes from the stored position alone (Last-Event-ID / since=<id>).
      await source.close();
      await send(identity, "three");
      const restarted = again();
      const last = await restarted.pull({
        identity,
        since: next.position,
        types: [],
        limit: 10,
        timeoutMs: 2_000,
        signal,
      });
      expect(last.events.map((e) => e.email?.subject)).toEqual(["three"]);
    });

    it(`${kind}: a pull that saw no event still returns a resume point, so mail landing during a restart is not lost`, async () => {
      const { source, send, again } = await setup(make);
      const identity = "quiet@local.test";
      const signal = new AbortController().signal;
      const since = await source.seek({ identity, notBefore: Date.now(), after: null, signal });
      const quiet = await source.pull({ identity, since, types: [], limit: 10, timeoutMs: 500, signal });
      expect(quiet.events).toEqual([]);
      // The inbox opened the stream with an id-only frame; the client took it as its position.
      expect(String(quiet.position?.cursor)).toMatch(/^evt_/);
      await source.close();
      await send(identity, "during the restart");
      const restarted = again();
      const page = await restarted.pull({
        identity,
        since: quiet.position,
        types: [],
        limit: 10,
        timeoutMs: 2_000,
        signal,
      });
      expect(page.events.map((e) => e.email?.subject)).toEqual(["during the restart"]);
    });
  }
});
