import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, textOf } from "./helpers/harness.js";

type PageOut = { events: { type: string; seq: number }[]; cursor: number; types: string[] };

let h: Harness;
afterEach(async () => h?.close());

describe("pull_events: one consumer per types filter", () => {
  it("a filtered loop and an unfiltered loop on one identity never move each other", async () => {
    h = await startHarness();
    h.fake.email("me@x.test", { subject: "hello" });
    h.fake.append("me@x.test", { type: "email.bounced", data: { subject: "bounce 1" } });
    h.fake.email("me@x.test", { subject: "again" });
    const bounces = await h.ok<PageOut>("pull_events", { identity: "me@x.test", types: "email.bounced" });
    expect(bounces.events.map((e) => e.seq)).toEqual([2]);
    const all = await h.ok<PageOut>("pull_events", { identity: "me@x.test" });
    expect(all.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    h.fake.append("me@x.test", { type: "email.bounced", data: { subject: "bounce 2" } });
    expect(
      (await h.ok<PageOut>("pull_events", { identity: "me@x.test", types: ["email.bounced"] })).events,
    ).toHaveLength(1);
    expect((await h.ok<PageOut>("pull_events", { identity: "me@x.test" })).events.map((e) => e.seq)).toEqual([
      4,
    ]);
    const cursors = await Promise.all([
      h.ok<{ cursor: number }>("get_cursor", { identity: "me@x.test" }),
      h.ok<{ cursor: number; types: string[] }>("get_cursor", {
        identity: "me@x.test",
        types: "email.bounced",
      }),
    ]);
    expect(cursors.map((c) => c.cursor)).toEqual([4, 4]);
    expect(cursors[1]?.types).toEqual(["email.bounced"]);
  });

  it("names one consumer however its filter is written (order, CSV or list, repeats)", async () => {
    h = await startHarness();
    h.fake.append("me@x.test", { type: "email.bounced", data: {} });
    h.fake.email("me@x.test", { subject: "x" });
    await h.ok("pull_events", { identity: "me@x.test", types: "email.received, email.bounced" });
    const same = await h.ok<PageOut>("get_cursor", {
      identity: "me@x.test",
      types: ["email.bounced", "email.received", "email.bounced"],
    });
    expect(same.cursor).toBe(2);
  });

  it("refuses a misspelled type, listing the source's types, and moves no cursor", async () => {
    h = await startHarness();
    h.fake.email("me@x.test", { subject: "one" });
    const result = await h.call("pull_events", { identity: "me@x.test", types: "email.recieved" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^\[INVALID_INPUT\] unknown event type "email\.recieved".*email\.received, email\.sent/,
    );
    const all = await h.ok<PageOut>("pull_events", { identity: "me@x.test" });
    expect(all.events.map((e) => e.seq)).toEqual([1]);
  });

  it("accepts documented prefix wildcards and refuses ones that match nothing", async () => {
    h = await startHarness();
    h.fake.email("me@x.test", { subject: "one" });
    expect(
      (await h.ok<PageOut>("pull_events", { identity: "me@x.test", types: "email.*" })).events,
    ).toHaveLength(1);
    const wrong = await h.call("pull_events", { identity: "me@x.test", types: "delivery.*" });
    expect(wrong.isError).toBe(true);
  });

  it("set_cursor moves only the consumer it names", async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) h.fake.email("me@x.test", { subject: `m${i}` });
    await h.ok("pull_events", { identity: "me@x.test" });
    await h.ok("pull_events", { identity: "me@x.test", types: "email.received" });
    await h.ok("set_cursor", { identity: "me@x.test", types: "email.received", cursor: 1 });
    expect(
      (await h.ok<PageOut>("pull_events", { identity: "me@x.test", types: "email.received" })).events.map(
        (e) => e.seq,
      ),
    ).toEqual([2, 3]);
    expect((await h.ok<PageOut>("pull_events", { identity: "me@x.test" })).events).toEqual([]);
  });
});
