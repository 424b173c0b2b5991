import { afterEach } from "vitest";
import type { Logger } from "../../src/log.js";
import type { NormalizedEvent } from "../../src/mail/event.js";
import { HttpClient } from "../../src/sources/http-client.js";
import type { Position, PullRequest } from "../../src/sources/source.js";
import type { SseSource, SseSourceOptions } from "../../src/sources/sse-source.js";
import type { SseServer, SseServerOptions } from "../fakes/sse-server.js";

export interface SseSourceHarnessOptions<
  O extends SseServerOptions,
  F extends SseServer,
  S extends SseSource,
> {
  /** The fake upstream speaking the source's dialect. */
  Fake: new (
    options?: O,
  ) => F;
  Source: new (options: SseSourceOptions) => S;
  /** The identity every `pullReq` asks for unless told otherwise. */
  identity: string;
  /** The most pulls one `drain` makes. */
  maxPulls: number;
}

/**
 * What the SSE source tests share: a fake upstream plus a source on it per test, all closed
 * after each test (registers an `afterEach`, so call it at the top level of a test file).
 */
export function sseSourceHarness<O extends SseServerOptions, F extends SseServer, S extends SseSource>({
  Fake,
  Source,
  identity,
  maxPulls,
}: SseSourceHarnessOptions<O, F, S>) {
  /** Run after each test, last added first. */
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(options?: O, log?: Logger) {
    const fake = await new Fake({ token: "secret", ...options } as O).start();
    const http = new HttpClient({ token: "secret", slackMs: 1_000, backoffMs: 10, maxBackoffMs: 50 });
    const make = () =>
      new Source({
        url: fake.url,
        http,
        ...(log ? { log } : {}),
        tuning: {},
      });
    const source = make();
    cleanups.push(async () => {
      await source.close();
      await http.close();
      await fake.close();
    });
    return { fake, http, source, make };
  }

  const pullReq = (since: Position | null, extra: Partial<PullRequest> = {}): PullRequest => ({
    identity,
    since,
    types: [],
    limit: 50,
    timeoutMs: 200,
    signal: new AbortController().signal,
    ...extra,
  });

  /** Pulls until `count` events arrived or `ms` passed; returns them and the last position. */
  async function drain(
    source: S,
    count: number,
    since: Position | null,
    extra: Partial<PullRequest> = {},
    ms = 10_000,
  ) {
    const events: NormalizedEvent[] = [];
    let position = since;
    const end = Date.now() + ms;
    for (let i = 0; i < maxPulls && events.length < count && Date.now() < end; i++) {
      const page = await source.pull(pullReq(position, extra));
      events.push(...page.events);
      position = page.position ?? position;
    }
    return { events, position };
  }

  return { cleanups, setup, pullReq, drain };
}
