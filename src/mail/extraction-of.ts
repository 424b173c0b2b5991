import type { EmailFields, NormalizedEvent } from "./event.js";
import { type Extraction, extract } from "./extract.js";
import { analyzeHtmlOf } from "./html.js";
import { MAX_LINKS } from "./links.js";
import { cleanText } from "./text.js";

const MAX_CODES = 5;

const strings = (value: unknown, max: number): string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === "string")
    ? (value as string[]).slice(0, max)
    : undefined;

/**
 * What the local inbox extracted at ingest, from the whole message (its event carries the
 * text, not the HTML, so nothing could be extracted again here), else undefined.
 */
function precomputed(event: NormalizedEvent): Extraction | undefined {
  const codes = strings(event.data.codes, MAX_CODES);
  const codesAsShown = strings(event.data.codesAsShown, MAX_CODES);
  const links = strings(event.data.links, MAX_LINKS);
  if (codes === undefined || codesAsShown === undefined || links === undefined) return undefined;
  return { text: cleanText(event.email?.text ?? ""), codes, codesAsShown, links };
}

/** Per email object: a wait filters by the HTML's text and then digests the same email. */
const byEmail = new WeakMap<EmailFields, Extraction>();

// Per content, for the same email read again in new objects (a page pulled without
// committing, or by several consumers, then fetched by get_email). Bounded in entries and in
// key size, so it holds at most a few MiB; a big email is extracted again instead.
const MAX_CACHED = 256;
const MAX_KEY_CHARS = 16_384;
const byContent = new Map<string, Extraction>();

/** Subject, text and HTML in one string: the lengths make it unambiguous. */
function contentKey(email: EmailFields): string | undefined {
  // extract() reads an empty or missing part alike.
  const subject = email.subject ?? "";
  const text = email.text ?? "";
  const html = email.html ?? "";
  if (subject.length + text.length + html.length > MAX_KEY_CHARS) return undefined;
  return `${subject.length},${text.length},${subject}${text}${html}`;
}

function cachedByContent(key: string | undefined, compute: () => Extraction): Extraction {
  if (key === undefined) return compute();
  const hit = byContent.get(key);
  if (hit !== undefined) {
    // Most recently used last: the first key is the one to evict.
    byContent.delete(key);
    byContent.set(key, hit);
    return hit;
  }
  const found = compute();
  byContent.set(key, found);
  if (byContent.size > MAX_CACHED) byContent.delete(byContent.keys().next().value as string);
  return found;
}

/**
 * The codes, links and readable text of an event's email: precomputed by the local inbox,
 * else extracted from the text and HTML a hosted source sent (once per email).
 */
export function extractionOf(event: NormalizedEvent): Extraction {
  const email = event.email ?? {};
  const cached = byEmail.get(email);
  if (cached) return cached;
  const found =
    precomputed(event) ??
    cachedByContent(contentKey(email), () =>
      extract({
        subject: email.subject,
        text: email.text,
        html: email.html ? analyzeHtmlOf(email, email.html) : undefined,
      }),
    );
  byEmail.set(email, found);
  return found;
}
