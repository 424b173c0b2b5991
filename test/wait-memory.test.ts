import { describe, expect, it } from "vitest";
import type { NormalizedEvent } from "../src/mail/event.js";
import { WaitMemory } from "../src/tools/wait-memory.js";

const event = (i: number) =>
  ({
    id: `evt_${i}`,
    type: "email.received",
    identity: "a@x.test",
    ts: i,
    receivedAt: "",
  }) as NormalizedEvent;

describe("WaitMemory: where handed-out events stand, for `after`", () => {
  it("remembers at least the last 10,000 events, and lets older ones go", () => {
    const memory = new WaitMemory();
    for (let i = 1; i <= 25_000; i++) memory.know(event(i), { cursor: i, order: i });
    for (let i = 15_001; i <= 25_000; i++) expect(memory.positionOf(`evt_${i}`)?.order).toBe(i);
    expect(memory.positionOf("evt_1")).toBeUndefined();
    expect(memory.positionOf("evt_9999")).toBeUndefined();
  });

  it("answers with the newest position of an event seen twice", () => {
    const memory = new WaitMemory();
    memory.know(event(1), { cursor: 1, order: 1 });
    for (let i = 2; i <= 10_000; i++) memory.know(event(i), { cursor: i, order: i });
    memory.know(event(1), { cursor: "later", order: 20_000 }); // lands in the new generation
    expect(memory.positionOf("evt_1")).toEqual({ cursor: "later", order: 20_000 });
  });
});
