import { describe, expect, it } from "vitest";
import { runTorture } from "../bench/lib/torture-core.mjs";

// A small, bounded run of `npm run torture` (bench/lib/torture-core.mjs): real server processes
// from dist/ on one state directory, SIGKILLed at random instants under a steady event stream.
describe("crash torture", () => {
  it("never repeats a received event, never skips one outside a killed call, never moves a cursor back", async () => {
    const result = await runTorture({ kills: 10, timeLimitMs: 20_000 });
    expect(result.problems).toEqual([]);
    expect(result.kills).toBeGreaterThanOrEqual(10);
    expect(result.eventsGiven).toBeGreaterThan(0);
    expect(result.repeats).toBe(0);
    expect(result.unexplainedLoss).toBe(0);
    expect(result.cursorRegressions).toBe(0);
    expect(result.parseFailures).toBe(0);
    expect(result.fileReads).toBeGreaterThan(10);
    // Only a call cut by its kill can lose its own page (it committed, then died before answering).
    expect(result.killedPagesLost).toBeLessThanOrEqual(result.callsCutByKill);
  }, 40_000);
});
