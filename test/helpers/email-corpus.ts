import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One corpus email as written in test/fixtures/emails/<name>.json. */
export interface CorpusEmail {
  name: string;
  subject?: string | null;
  from?: string | null;
  text?: string;
  html?: string;
  /** A raw message beside the JSON (legacy charsets), sent as its bytes. */
  eml?: string;
  expect: {
    codes: string[];
    /** The first link expected; `null`: no link at all; absent: the first link is not checked. */
    link?: string | null;
    /** Every link expected, in order (only links that act on the account). */
    links?: string[];
    /** Strings hidden from a human reader: none may reach the text, the codes or the links. */
    absent?: string[];
  };
}

export const CORPUS_DIR = new URL("../fixtures/emails/", import.meta.url);

export function loadCorpus(): CorpusEmail[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ""),
      ...(JSON.parse(readFileSync(new URL(f, CORPUS_DIR), "utf8")) as Omit<CorpusEmail, "name">),
    }));
}

/** The message nodemailer sends for a corpus email: its .eml bytes, or composed from its parts. */
export function corpusMessage(
  email: CorpusEmail,
  to: string,
): { envelope: { from: string; to: string[] } } & Record<string, unknown> {
  const envelope = { from: "corpus@sender.test", to: [to] };
  if (email.eml) return { envelope, raw: readFileSync(join(CORPUS_DIR.pathname, email.eml)) };
  return {
    envelope,
    from: email.from || "corpus@sender.test",
    to,
    subject: email.subject ?? "",
    ...(email.text === undefined ? {} : { text: email.text }),
    ...(email.html === undefined ? {} : { html: email.html }),
  };
}
