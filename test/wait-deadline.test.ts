import { afterEach, describe, expect, it } from "vitest";
import { HttpClient } from "../src/sources/http-client.js";
import { InboxbaseSource } from "../src/sources/inboxbase.js";
import { MailsSource } from "../src/sources/mails.js";
import { MoltedSource } from "../src/sources/molted.js";
import type { Source } from "../src/sources/source.js";
import { HostileUpstream } from "./fakes/hostile-upstream.js";
import { startHarness, textOf } from "./helpers/harness.js";

describe("wait_for_email at its deadline", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  // A wait's last long-poll ends when the wait does; an upstream that answers it a little late
  // (a loaded machine, a busy vendor) must give "nothing yet", not a timeout error.
  it("says no email came when upstream answers the last long-poll 700 ms after the wait's end", async () => {
    const h = await startHarness();
    stops.push(() => h.close());
    h.fake.ensure("late@x.test");
    h.fake.answerLateMs = 700;
    const result = await h.call("wait_for_email", { identity: "late@x.test", timeoutSeconds: 1 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect((result.structuredContent as { found: boolean }).found).toBe(false);
  });

  // Seen under load: a retry still in flight at the deadline turned "HTTP 500" into "did not
  // answer in time", which tells the user nothing about the upstream that failed. The cursor
  // endpoint retries one request; the SSE sources retry a stream's connection.
  const sources: Record<string, (url: string, http: HttpClient) => Source> = {
    inboxbase: (url, http) => new InboxbaseSource({ url, http }),
    mails: (url, http) => new MailsSource({ url, http }),
    molted: (url, http) => new MoltedSource({ url, http }),
  };
  it.each(Object.keys(sources))(
    "reports what a failing upstream last answered, not the deadline that cut its retry (%s)",
    async (kind) => {
      const upstream = await new HostileUpstream().start();
      upstream.behaviour = { kind: "status-then-hang", status: 500, times: 1 };
      const http = new HttpClient({});
      const source = (sources[kind] as (typeof sources)[string])(upstream.url, http);
      const h = await startHarness({ deps: { source } });
      stops.push(async () => {
        await h.close();
        await source.close();
        await http.close();
        await upstream.close();
      });
      const result = await h.call("wait_for_email", { identity: "a@x.test", timeoutSeconds: 1 });
      expect(result.isError).toBe(true);
      expect(upstream.requestTimes.length, "the 500 was retried").toBeGreaterThanOrEqual(2);
      expect(textOf(result)).toMatch(/^\[UPSTREAM_HTTP\] .*answered HTTP 500/);
    },
  );
});
