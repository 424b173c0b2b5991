import { afterEach, describe, expect, it } from "vitest";
import { HttpClient } from "../src/sources/http-client.js";
import { InboxbaseSource } from "../src/sources/inboxbase.js";
import { MailsSource } from "../src/sources/mails.js";
import { MoltedSource } from "../src/sources/molted.js";
import type { Source } from "../src/sources/source.js";
import { HostileUpstream } from "./fakes/hostile-upstream.js";

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const KINDS = {
  inboxbase: (url: string, http: HttpClient) => new InboxbaseSource({ url, http }),
  mails: (url: string, http: HttpClient) => new MailsSource({ url, http }),
  molted: (url: string, http: HttpClient) => new MoltedSource({ url, http }),
} as const;
type Kind = keyof typeof KINDS;

/** A source of `kind` with the production HTTP client (its real retry floor and timeouts). */
async function setup(kind: Kind) {
  const upstream = await new HostileUpstream().start();
  const http = new HttpClient({ token: "tok_live_4f9a8b7c6d5e" });
  const source: Source = KINDS[kind](upstream.url, http);
  cleanups.push(async () => {
    await source.close();
    await http.close();
    await upstream.close();
  });
  return { upstream, source };
}

/** One pull that may long-poll `windowMs` and retry until `deadlineMs` from now; never throws. */
async function pullFor(source: Source, windowMs: number, deadlineMs: number) {
  const started = Date.now();
  const signal = AbortSignal.timeout(deadlineMs + 10_000); // the test's own bound, not the client's
  const outcome = await source
    .pull({
      identity: "a@x.test",
      since: null,
      types: [],
      limit: 50,
      timeoutMs: windowMs,
      signal,
      deadline: started + deadlineMs,
    })
    .then(
      (page) => ({ page, error: undefined }),
      (error: unknown) => ({ page: undefined, error: error as Error & { code?: string } }),
    );
  return { ...outcome, elapsed: Date.now() - started, started };
}

const PAST = "Wed, 21 Oct 2015 07:28:00 GMT";

describe("a misbehaving upstream costs a bounded number of requests and bytes", () => {
  for (const kind of Object.keys(KINDS) as Kind[]) {
    for (const [status, retryAfter] of [
      [503, "0"],
      [429, "0"],
      [503, ""],
      [429, PAST],
      [503, "soon, maybe"],
    ] as const) {
      it(`${kind}: HTTP ${status} with Retry-After ${JSON.stringify(retryAfter)} is retried a handful of times a second, not in a hot loop`, async () => {
        const { upstream, source } = await setup(kind);
        upstream.behaviour = { kind: "status", status, retryAfter };
        // A long-poll window of 2 s for the streams; the cursor endpoint retries until its deadline.
        const { error, started } = await pullFor(source, kind === "inboxbase" ? 0 : 2_000, 2_000);
        const requests = upstream.requestsSince(started);
        process.stderr.write(
          `upstream-bounds: ${kind} ${status} Retry-After ${JSON.stringify(retryAfter)}: ${requests} requests in 2 s\n`,
        );
        expect(requests).toBeGreaterThanOrEqual(2);
        expect(requests).toBeLessThanOrEqual(10);
        if (kind === "inboxbase") expect(error?.code).toMatch(/^UPSTREAM_(HTTP|RATE_LIMITED)$/);
      });
    }

    it(`${kind}: an endless 5xx body is read up to a cap, memory stays bounded and the error is clear`, async () => {
      const { upstream, source } = await setup(kind);
      upstream.behaviour = { kind: "endless-body", status: 503 };
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const { error, elapsed } = await pullFor(source, 0, 3_000).finally(() => clearInterval(sampler));
      process.stderr.write(
        `upstream-bounds: ${kind} endless 503 body: RSS ${(before / MiB).toFixed(0)} → peak ${(peak / MiB).toFixed(0)} MiB, ended after ${elapsed} ms with ${error?.code}\n`,
      );
      expect(peak - before).toBeLessThan(64 * MiB);
      expect(error?.code).toBe("UPSTREAM_HTTP");
      // Past the deadline the test's own signal would end it as ABORTED instead.
      expect(error?.message).toMatch(/HTTP 503/);
    });

    it(`${kind}: an upstream that accepts and never answers ends the call by its deadline`, async () => {
      const { upstream, source } = await setup(kind);
      upstream.behaviour = { kind: "hang" };
      const { page, error } = await pullFor(source, kind === "inboxbase" ? 0 : 500, 1_500);
      expect(upstream.requestTimes.length).toBeGreaterThanOrEqual(1);
      // The cursor endpoint fails by its deadline; a stream's window ends with an empty page.
      // Past the deadline the test's own signal would end it as ABORTED instead.
      if (kind === "inboxbase") expect(error?.code).toBe("UPSTREAM_TIMEOUT");
      else {
        expect(error).toBeUndefined();
        expect(page?.events).toEqual([]);
      }
    });
  }
});
