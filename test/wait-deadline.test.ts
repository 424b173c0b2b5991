import { afterEach, describe, expect, it } from "vitest";
import { startHarness, textOf } from "./helpers/harness.js";

// A wait's last long-poll ends when the wait does; an upstream that answers it a little late
// (a loaded machine, a busy vendor) must give "nothing yet", not a timeout error.
describe("wait_for_email at its deadline", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it("says no email came when upstream answers the last long-poll 700 ms after the wait's end", async () => {
    const h = await startHarness();
    stops.push(() => h.close());
    h.fake.ensure("late@x.test");
    h.fake.answerLateMs = 700;
    const result = await h.call("wait_for_email", { identity: "late@x.test", timeoutSeconds: 1 });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect((result.structuredContent as { found: boolean }).found).toBe(false);
  });
});
