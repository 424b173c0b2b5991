import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import type { EmailFields, NormalizedEvent } from "../../src/mail/event.js";

/** One corpus email as written in test/fixtures/emails/<name>.json. */
export interface CorpusEmail {
  name: string;
  subject?: string | null;
  from?: string | null;
  text?: string;
  html?: string;
  /** A raw message beside the JSON (legacy charsets), parsed with mailparser. */
  eml?: string;
  /** `link`: the first link expected; `null`: no link at all; absent: links not checked. */
  expect: { codes: string[]; link?: string | null };
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

/** The email as a source would deliver it: JSON fields as they are, .eml through mailparser. */
export async function corpusEvent(email: CorpusEmail): Promise<NormalizedEvent> {
  let fields: EmailFields;
  if (email.eml) {
    const parsed = await simpleParser(readFileSync(join(CORPUS_DIR.pathname, email.eml)));
    fields = {
      from: parsed.from?.text ?? "",
      subject: parsed.subject ?? "",
      ...(parsed.text ? { text: parsed.text } : {}),
      ...(parsed.html ? { html: parsed.html } : {}),
    };
  } else {
    fields = {
      from: email.from ?? "",
      subject: email.subject ?? "",
      ...(email.text === undefined ? {} : { text: email.text }),
      ...(email.html === undefined ? {} : { html: email.html }),
    };
  }
  return {
    id: `evt_${email.name}`,
    type: "email.received",
    identity: "agent@local.test",
    ts: 1_767_225_600_000,
    receivedAt: "2026-01-01T00:00:00.000Z",
    email: fields,
    data: { ...fields },
  };
}
