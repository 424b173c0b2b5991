import { describe, expect, it } from "vitest";
import { parseMessage } from "../src/inbox/smtp/parse-message.js";
import { findCodes } from "../src/mail/codes.js";
import { digestEmail } from "../src/mail/digest.js";
import type { NormalizedEvent } from "../src/mail/event.js";
import { analyzeHtml } from "../src/mail/html.js";
import { rankLinks, textLinks } from "../src/mail/links.js";
import { compileFilter } from "../src/mail/match.js";
import { eventForOutput } from "../src/mail/pulled-event.js";
import { cleanText, oneLine } from "../src/mail/text.js";

const SIZE = 100_000;
const fill = (unit: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

// Strings shaped against each of the project's own patterns: code runs and separators, stale
// and keyword words, URL prefixes and brackets, tags, styles and stylesheets, colours, entities.
const ADVERSARIAL: Record<string, string> = {
  digitsAndSpaces: fill("1 "),
  codeGroups: fill("K7Q-92X-"),
  longRun: fill("A1"),
  keywordSentences: fill("Your previous verification code 482 193 has "),
  staleWords: fill("previous old earlier "),
  urlPrefixes: fill("https://"),
  urlBrackets: fill("https://x.io/(((("),
  bareDots: fill("https://a."),
  unclosedTags: fill("<a href='https://x.io/verify?t=1'>"),
  nestedTags: fill("<b>"),
  styleAttrSpaces: `<div style="font-size${" ".repeat(SIZE)}">x</div>`,
  hiddenStyles: fill('<span style="display:none;opacity:0;font-size:0;color:#fff;background:#fff">1</span>'),
  stylesheetBraces: `<style>${fill("{.a{")}</style>`,
  stylesheetComments: `<style>${fill("/*")}</style>`,
  stylesheetSelectors: `<style>${fill(".preheader,")}</style>`,
  colours: fill('<p style="color:rgba(255, 255, 255, 1);background-color: #ffffff">'),
  entities: fill("&amp;&#x26;&"),
  cjk: fill("验证码認証コード인증번호１２３"),
  controls: fill("\u0000\u001b[31m\u202e\ud800"),
  angleFrom: `${"<".repeat(SIZE / 2)}${"a".repeat(SIZE / 2)}`,
};

const event = (s: string): NormalizedEvent => ({
  id: "evt_adv",
  type: "email.received",
  identity: "adv@local.test",
  ts: 0,
  receivedAt: "",
  email: { from: s, to: [s], subject: s, text: s, html: s },
  data: { html: s, text: s, subject: s, nested: { deep: [s, s] } },
});

const timings: string[] = [];
const timed = async (label: string, run: () => unknown) => {
  const started = performance.now();
  await run();
  timings.push(`${label} ${(performance.now() - started).toFixed(1)} ms`);
};

describe("the project's own patterns on 100 KB adversarial strings", () => {
  it.each(Object.entries(ADVERSARIAL))(
    "every extractor returns on %s",
    { timeout: 120_000 },
    async (name, s) => {
      timings.length = 0;
      await timed("findCodes", () => findCodes({ subject: s.slice(0, 2_000), bodies: [s], prominent: [s] }));
      await timed("analyzeHtml", () => analyzeHtml(s));
      await timed("textLinks+rankLinks", () =>
        rankLinks([
          ...textLinks(s),
          { href: s, text: s, pixel: false },
          { href: `https://x.io/${s}`, text: s, pixel: false },
        ]),
      );
      await timed("cleanText+oneLine", () => [cleanText(s), oneLine(s, 500)]);
      await timed("compileFilter", () =>
        compileFilter({ from: "/(a+)+$/", to: "/^(a|aa)+$/", subject: "/(x+x+)+y/", contains: "/\\d+$/" })(
          event(s),
        ),
      );
      await timed("digestEmail", () => digestEmail(event(s)));
      await timed("eventForOutput", () => {
        const out = eventForOutput(event(s));
        expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(2_000);
      });
      const raw = Buffer.from(
        `From: "${s.slice(0, 900)}" <a@b.c>\r\nSubject: ${s.slice(0, 900)}\r\nContent-Type: text/html\r\n\r\n${s.replace(/(.{900})/gs, "$1\r\n")}`,
      );
      await timed("parseMessage", () => parseMessage(raw, { mailFrom: "a@b.c", rcptTo: ["x@y.z"] }));
      console.log(`${name}: ${timings.join(", ")}`);
    },
  );
});
