import type { Transporter } from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusMessage, loadCorpus } from "./helpers/email-corpus.js";
import { type LocalApp, startLocalApp } from "./helpers/local-app.js";
import { pooledTransport } from "./helpers/smtp-client.js";

const corpus = loadCorpus();

// The production path: the server built as main.ts builds it, its in-process local inbox,
// mail sent over SMTP by nodemailer, and the result read back through wait_for_email.
let app: LocalApp;
beforeAll(async () => {
  app = await startLocalApp();
});
afterAll(() => app.close());

interface Found {
  found: boolean;
  email?: { text: string; codes: string[]; links: string[] };
}

async function throughInbox(
  transport: Transporter,
  index: number,
  email: (typeof corpus)[number],
): Promise<NonNullable<Found["email"]>> {
  const to = `c${index}@corpus.test`;
  await transport.sendMail(corpusMessage(email, to));
  const found = await app.tool<Found>("wait_for_email", { identity: to, timeoutSeconds: 10 });
  if (!found.found || !found.email) throw new Error(`${email.name}: not received`);
  return found.email;
}

describe("extraction over the email corpus, sent over SMTP and read through wait_for_email", () => {
  it("holds at least 60 emails, with and without codes, in several languages", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(corpus.filter((e) => e.expect.codes.length === 0).length).toBeGreaterThanOrEqual(15);
    expect(corpus.filter((e) => e.eml).length).toBeGreaterThanOrEqual(3);
    expect(corpus.filter((e) => e.expect.absent).length).toBeGreaterThanOrEqual(4);
  });

  it("finds every expected code and link, with no false positives and nothing hidden", async () => {
    const transport = pooledTransport(app.inbox.smtpPort, 1);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let linkTp = 0;
    let linkFp = 0;
    let linkFn = 0;
    let firstRight = 0;
    let firstChecked = 0;
    const failures: string[] = [];
    try {
      for (const [index, email] of corpus.entries()) {
        const got = await throughInbox(transport, index, email);
        const expected = email.expect.codes;
        const extra = got.codes.filter((c) => !expected.includes(c));
        const missed = expected.filter((c) => !got.codes.includes(c));
        tp += expected.length - missed.length;
        fp += extra.length;
        fn += missed.length;
        if (extra.length || missed.length || (expected[0] !== undefined && got.codes[0] !== expected[0]))
          failures.push(
            `${email.name}: codes ${JSON.stringify(got.codes)}, expected ${JSON.stringify(expected)}`,
          );
        if (email.expect.link !== undefined) {
          firstChecked++;
          if ((got.links[0] ?? null) === email.expect.link) firstRight++;
          else failures.push(`${email.name}: first link ${got.links[0]}, expected ${email.expect.link}`);
        }
        const links = email.expect.links;
        if (links !== undefined) {
          const good = got.links.filter((l) => links.includes(l)).length;
          linkTp += good;
          linkFp += got.links.length - good;
          linkFn += links.length - good;
          if (JSON.stringify(got.links) !== JSON.stringify(links))
            failures.push(
              `${email.name}: links ${JSON.stringify(got.links)}, expected ${JSON.stringify(links)}`,
            );
        }
        for (const hidden of email.expect.absent ?? []) {
          const seen = [got.text, ...got.codes, ...got.links].some((s) => s.includes(hidden));
          if (seen) failures.push(`${email.name}: hidden ${JSON.stringify(hidden)} reached the result`);
        }
      }
    } finally {
      transport.close();
    }
    const pct = (n: number, d: number) => (d === 0 ? "100.0" : ((100 * n) / d).toFixed(1));
    console.log(
      `corpus over SMTP: ${corpus.length} emails · codes precision ${pct(tp, tp + fp)}% recall ${pct(tp, tp + fn)}% ` +
        `(tp ${tp}, fp ${fp}, fn ${fn}) · links precision ${pct(linkTp, linkTp + linkFp)}% recall ` +
        `${pct(linkTp, linkTp + linkFn)}% (tp ${linkTp}, fp ${linkFp}, fn ${linkFn}) · first link right ${firstRight}/${firstChecked}`,
    );
    expect(failures).toEqual([]);
  });
});
