import { describe, expect, it } from "vitest";
import type { PullRequest } from "../src/sources/source.js";
import { DEFAULT_TUNING } from "../src/sources/sse-dialect.js";
import { TakeClock, type TakeState } from "../src/sources/take-clock.js";

// The decision `SseStream.take` makes each time it looks again, on fixed instants (no timers).
const T0 = 1_000_000;
const request = (timeoutMs: number, deadline?: number): PullRequest => ({
  identity: "me@example.com",
  since: null,
  types: [],
  limit: 10,
  timeoutMs,
  signal: new AbortController().signal,
  ...(deadline === undefined ? {} : { deadline }),
});
const state = (over: Partial<TakeState>): TakeState => ({
  now: T0,
  buffered: 0,
  limit: 10,
  openedAt: 0,
  lastEventAt: 0,
  open: false,
  connected: false,
  failing: false,
  retryAt: 0,
  ...over,
});

describe("TakeClock.next", () => {
  const clock = new TakeClock(request(5_000, T0 + 8_000), DEFAULT_TUNING, T0);

  it("connects when nothing is open and no retry is pending, then sleeps until the window's end", () => {
    expect(clock.next(state({}))).toEqual({ kind: "wait", connect: true, until: T0 + 5_000 });
    expect(clock.next(state({ connected: true }))).toEqual({
      kind: "wait",
      connect: false,
      until: T0 + 5_000,
    });
  });

  it("hands a full page over at once, and a partial one after the settle quiet", () => {
    const open = { connected: true, open: true, openedAt: T0 - 10_000 };
    expect(clock.next(state({ ...open, buffered: 10 }))).toEqual({ kind: "done" });
    const lastEventAt = T0 + 100;
    // Long after the connection opened: settle (1 ms), not the replay grace.
    expect(clock.next(state({ ...open, buffered: 3, lastEventAt, now: lastEventAt }))).toEqual({
      kind: "wait",
      connect: false,
      until: lastEventAt + DEFAULT_TUNING.settleMs,
    });
    expect(clock.next(state({ ...open, buffered: 3, lastEventAt, now: lastEventAt + 1 }))).toEqual({
      kind: "done",
    });
  });

  it("waits out the replay grace for events just after a connection opened", () => {
    const at = { connected: true, open: true, openedAt: T0, lastEventAt: T0 + 10, buffered: 2 };
    expect(clock.next(state({ ...at, now: T0 + 10 }))).toMatchObject({
      until: T0 + 10 + DEFAULT_TUNING.graceMs,
    });
    expect(clock.next(state({ ...at, now: T0 + 10 + DEFAULT_TUNING.graceMs }))).toEqual({ kind: "done" });
  });

  it("ends an empty window with nothing, unless the upstream is failing: then retries until the deadline", () => {
    const end = T0 + 5_000;
    expect(clock.next(state({ now: end, connected: true, open: true }))).toEqual({ kind: "done" });
    const failing = { now: end, failing: true, retryAt: end + 500 };
    expect(clock.next(state(failing))).toEqual({ kind: "wait", connect: false, until: end + 500 });
    expect(clock.next(state({ ...failing, now: end + 500, retryAt: end + 500 }))).toEqual({
      kind: "wait",
      connect: true,
      until: T0 + 8_000,
    });
    expect(clock.next(state({ ...failing, now: T0 + 8_000 }))).toEqual({ kind: "fail" });
  });

  it("gives up at once when the next retry would start past the deadline", () => {
    expect(clock.next(state({ failing: true, retryAt: T0 + 8_000 }))).toEqual({ kind: "fail" });
    // Not failing (a first connection, a planned reconnect): no reason to give up.
    expect(clock.next(state({ retryAt: T0 + 8_000 }))).toMatchObject({ kind: "wait", until: T0 + 5_000 });
  });

  it("with timeoutMs 0, hands over what an open stream holds after the grace quiet", () => {
    const zero = new TakeClock(request(0), DEFAULT_TUNING, T0);
    const open = { connected: true, open: true, openedAt: T0 + 50 };
    expect(zero.next(state({ ...open, now: T0 + 60 }))).toEqual({
      kind: "wait",
      connect: false,
      until: T0 + 50 + DEFAULT_TUNING.graceMs,
    });
    expect(zero.next(state({ ...open, now: T0 + 50 + DEFAULT_TUNING.graceMs }))).toEqual({ kind: "done" });
    // Not yet answered: wait for it, up to the zero window.
    expect(zero.next(state({ connected: true }))).toEqual({
      kind: "wait",
      connect: false,
      until: T0 + DEFAULT_TUNING.zeroWindowMs,
    });
  });
});
