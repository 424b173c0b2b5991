import { describe, expect, it } from "vitest";
import { digestEmail } from "../src/mail/digest.js";
import { corpusEvent, loadCorpus } from "./helpers/email-corpus.js";

const corpus = loadCorpus();

describe("extraction over the email corpus", () => {
  it("holds at least 60 emails, with and without codes, in several languages", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(corpus.filter((e) => e.expect.codes.length === 0).length).toBeGreaterThanOrEqual(15);
    expect(corpus.filter((e) => e.eml).length).toBeGreaterThanOrEqual(3);
  });

  it("finds every expected code and link with no false positives", async () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let linksRight = 0;
    let linksChecked = 0;
    const failures: string[] = [];
    for (const email of corpus) {
      const digest = digestEmail(await corpusEvent(email));
      const expected = email.expect.codes;
      const extra = digest.codes.filter((c) => !expected.includes(c));
      const missed = expected.filter((c) => !digest.codes.includes(c));
      tp += expected.length - missed.length;
      fp += extra.length;
      fn += missed.length;
      if (extra.length || missed.length || (expected[0] !== undefined && digest.codes[0] !== expected[0]))
        failures.push(
          `${email.name}: codes ${JSON.stringify(digest.codes)}, expected ${JSON.stringify(expected)}`,
        );
      if (email.expect.link !== undefined) {
        linksChecked++;
        if ((digest.links[0] ?? null) === email.expect.link) linksRight++;
        else failures.push(`${email.name}: first link ${digest.links[0]}, expected ${email.expect.link}`);
      }
    }
    const pct = (n: number, d: number) => (d === 0 ? "100.0" : ((100 * n) / d).toFixed(1));
    console.log(
      `corpus: ${corpus.length} emails · codes precision ${pct(tp, tp + fp)}% recall ${pct(tp, tp + fn)}% ` +
        `(tp ${tp}, fp ${fp}, fn ${fn}) · first link right ${linksRight}/${linksChecked}`,
    );
    expect(failures).toEqual([]);
    expect(fn).toBe(0);
    expect(fp).toBe(0);
  });
});
