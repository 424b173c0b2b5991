import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { lineLimit, requestIdIn } from "../src/line-limit.js";

/** Feeds `chunks` through a limiter of `max` bytes a line; returns what passed and what was dropped. */
async function through(chunks: string[], max: number) {
  const dropped: string[] = [];
  const out: Buffer[] = [];
  const stream = Readable.from(chunks.map((c) => Buffer.from(c))).pipe(
    lineLimit(max, (head) => dropped.push(head.toString())),
  );
  for await (const chunk of stream) out.push(chunk as Buffer);
  return { passed: Buffer.concat(out).toString(), dropped };
}

describe("the stdin line limit", () => {
  it("passes lines up to the limit whole, however the chunks split them", async () => {
    const { passed, dropped } = await through(["ab", "cd\nef", "\n", "12345\n"], 5);
    expect(passed).toBe("abcd\nef\n12345\n");
    expect(dropped).toEqual([]);
  });

  it("drops a line one byte too long, ended in the same chunk or later, and keeps the next", async () => {
    const { passed, dropped } = await through(["ok\n123456\nabc", "def", "gh\nnext\n"], 5);
    expect(passed).toBe("ok\nnext\n");
    expect(dropped).toEqual(["123456\n", "abcdef"]);
  });

  it("finds the request id at the head of a dropped line", () => {
    expect(requestIdIn(Buffer.from('{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{'))).toBe(42);
    expect(requestIdIn(Buffer.from(' { "id" : "req-\\"7", "jsonrpc":"2.0"'))).toBe('req-"7');
    expect(requestIdIn(Buffer.from('{"jsonrpc":"2.0","method":"x","params":{"id":3'))).toBeUndefined();
  });
});
