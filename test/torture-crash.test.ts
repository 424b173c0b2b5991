import { describe, expect, it } from "vitest";
import { runTorture } from "../bench/lib/torture-core.mjs";

// A small, bounded run of `npm run torture` (bench/lib/torture-core.mjs): real server processes
// from dist/ on one state directory, SIGKILLed at random instants under a steady event stream.
describe("crash torture", () => {
  it("never loses an event or an email, repeats only what a kill kept from the disk, never moves a cursor back", async () => {
    // Lives of up to 3 s: a busy CI machine takes ~0.5 s to start a server, and a kill that
    // always lands before the handshake would test nothing but start-up.
    // Bounded, not timed: kills for at most 25 s, then each worker's last life (≤ 3 s after
    // its handshake), then one drain of at most 200 emails, one call each. With two suites on
    // two busy cores that has taken 40 s; the timeout only guards against a hang.
    const result = await runTorture({ kills: 10, maxLifeMs: 3_000, timeLimitMs: 25_000 });
    expect(result.problems).toEqual([]);
    expect(result.kills).toBeGreaterThanOrEqual(10);
    expect(result.eventsGiven).toBeGreaterThan(0);
    expect(result.repeats).toBe(0);
    expect(result.unexplainedLoss).toBe(0);
    expect(result.cursorRegressions).toBe(0);
    expect(result.parseFailures).toBe(0);
    expect(result.fileReads).toBeGreaterThan(10);
    expect(result.waitsFound).toBeGreaterThan(0);
    expect(result.waitRepeats).toBe(0);
    expect(result.waitLost).toBe(0);
  }, 90_000);
});
