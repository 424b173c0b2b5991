import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isMailEventsError } from "../src/errors.js";
import { describeEmail, digestEmail, UNTRUSTED_BEGIN, UNTRUSTED_END } from "../src/mail/digest.js";
import type { NormalizedEvent } from "../src/mail/event.js";
import { compileFilter } from "../src/mail/match.js";
import { digestOf } from "./helpers/digest-of.js";
import { fuzzSeed } from "./helpers/fuzz-seed.js";

const SEED = fuzzSeed("extraction-property");

const MB = 1_000_000;
const event = (s: string, html = s): NormalizedEvent => ({
  id: "evt_p",
  type: "email.received",
  identity: "p@local.test",
  ts: 0,
  receivedAt: "",
  email: { from: s, subject: s, text: s, html },
  data: {},
});

// Pieces that stress the extractors' patterns: digits and separators, keywords, URLs,
// tags and styles, entities, CJK, full-width digits, bidi and fence characters.
const piece = fc.constantFrom(
  "1",
  "123",
  "482193",
  " ",
  "-",
  ".",
  ",",
  ":",
  "\n",
  "#",
  "$",
  "%",
  "A",
  "K7Q",
  "code",
  "Code ",
  "verification ",
  "验证码",
  "認証コード",
  "１２３",
  "http://",
  "https://x.io/verify?t=",
  "&amp;",
  "<",
  ">",
  "<a href='https://click.x.io/ls/click?upn=",
  "'>",
  "</a>",
  "<b>",
  "<div style='display:none;font-size:",
  "<td style='font-size:32px'>",
  "<img width=1 height=1>",
  "\u202e",
  "⟦",
  "⟧",
);
const seed = fc.array(piece, { minLength: 1, maxLength: 24 }).map((p) => p.join(""));
const toMegabyte = (s: string) => s.repeat(Math.ceil(MB / s.length)).slice(0, MB);
const URL_SHAPE = /^https?:\/\/[^\s⟦⟧]+$/;

describe("extraction on any input", () => {
  it("never throws on arbitrary text and returns well-formed codes and links", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 3_000 }), seed, (text, html) => {
        const digest = digestOf({ subject: text, text, html });
        for (const code of digest.codes) expect(code).toMatch(/^[A-Z0-9]{4,10}$/);
        for (const link of digest.links) expect(link).toMatch(URL_SHAPE);
        expect(typeof digestOf({ html: text }).text).toBe("string");
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it("either rejects a filter pattern with INVALID_INPUT or matches without throwing", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 2_000 }), (pattern, text) => {
        let matches: ((e: NormalizedEvent) => boolean) | undefined;
        try {
          matches = compileFilter({ from: pattern, subject: pattern, contains: pattern });
        } catch (error) {
          expect(isMailEventsError(error) && error.code === "INVALID_INPUT").toBe(true);
          return;
        }
        expect(typeof matches(event(text))).toBe("boolean");
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it("keeps exactly one begin and one end marker whatever the email says", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(piece, fc.constant(UNTRUSTED_END), fc.constant(UNTRUSTED_BEGIN))),
        (parts) => {
          const s = parts.join("");
          const block = describeEmail(digestEmail(event(s)));
          expect(block.split(UNTRUSTED_BEGIN)).toHaveLength(2);
          expect(block.split(UNTRUSTED_END)).toHaveLength(2);
        },
      ),
      { numRuns: 200, seed: SEED },
    );
  });

  // No timing assertion (machines are noisy): each case must simply finish inside the test
  // timeout. Catastrophic backtracking or a quadratic parser path would take minutes per MB.
  it("finishes every extractor on 1 MB adversarial inputs", { timeout: 180_000 }, () => {
    fc.assert(
      fc.property(seed, (s) => {
        const big = toMegabyte(s);
        digestOf({ subject: big, text: big, html: big });
        digestOf({ html: big });
        compileFilter({ from: "/(a|a)*$/", subject: "code", contains: "/\\d+$/" })(event(big));
        const digest = digestEmail(event(big));
        expect(digest.text.length).toBeLessThan(5_000);
      }),
      { numRuns: 12, seed: SEED },
    );
  });

  it.each([
    ["deeply nested tags", "<b>"],
    ["nested layout tables", "<table><tr><td>"],
    ["unclosed anchors", "<a href='https://x.io/verify?t=1'>"],
    ["a single huge line of digits and spaces", "1 "],
    ["repeated code sentences", "Your verification code is 482 193 "],
    ["a style attribute of spaces", "<div style='font-size                 "],
    ["bare URL prefixes", "https://"],
  ])("finishes on 1 MB of %s", { timeout: 60_000 }, (_name, unit) => {
    const big = toMegabyte(unit);
    const digest = digestEmail(event(big));
    expect(digest.codes.length).toBeLessThanOrEqual(5);
    expect(digest.links.length).toBeLessThanOrEqual(10);
  });
});
