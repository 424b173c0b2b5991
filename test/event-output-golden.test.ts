import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestEmail } from "../src/mail/digest.js";
import { EVENT_JSON_BYTES, eventForOutput, eventLine } from "../src/mail/pulled-event.js";
import { variedEvents } from "./helpers/varied-events.js";

// Golden outputs captured from the code before pulled events got their fast path (commit
// "main.ts: help text…", where digest.ts still stringified every level): what a user sees in a
// page, its text lines, a wait's digest, must not change by a byte. Only a change meant to
// alter output may refresh them (`npx vitest run -u test/event-output-golden.test.ts`).
const events = variedEvents(4_000);

const outputsOf = (event: (typeof events)[number]) => {
  const pulled = eventForOutput(event);
  return JSON.stringify([pulled, eventLine(pulled), event.email ? digestEmail(event) : null]);
};
const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 20);

describe("pulled events, their lines and digests read exactly as before the fast path", () => {
  it("gives byte-identical outputs for 4,000 varied events", async () => {
    const lines = events.map((event, i) => `${i} ${hash(outputsOf(event))}`);
    await expect(`${lines.join("\n")}\n`).toMatchFileSnapshot("./fixtures/golden/event-outputs.sha256.txt");
  });

  it("shows the same full output for the first 40 events (a readable sample of the above)", async () => {
    const sample = events.slice(0, 40).map((event) => JSON.parse(outputsOf(event)));
    await expect(`${JSON.stringify(sample, null, 1)}\n`).toMatchFileSnapshot(
      "./fixtures/golden/event-outputs.sample.json",
    );
  });

  it("exercises every trimming level: small events, cut ones, and ones over the bound even when cut", () => {
    const sizes = events.map((e) => Buffer.byteLength(JSON.stringify(eventForOutput(e))));
    expect(sizes.filter((s) => s <= EVENT_JSON_BYTES / 2).length).toBeGreaterThan(100);
    expect(sizes.filter((s) => s > EVENT_JSON_BYTES).length).toBeGreaterThan(10);
    const untrimmedBig = events.filter((e) => Buffer.byteLength(JSON.stringify(e)) > 4 * EVENT_JSON_BYTES);
    expect(untrimmedBig.length).toBeGreaterThan(500);
    expect(
      events.filter((e) => (eventForOutput(e).email as { codes?: string[] } | undefined)?.codes?.length)
        .length,
    ).toBeGreaterThan(100);
  });
});
