import type { Anchor } from "./html.js";
import { judgeLink, unwrapRedirect } from "./link-rules.js";

/** Links handed to an agent; the rest of a newsletter's footer is noise. */
export const MAX_LINKS = 10;
/** URLs longer than this are not something an agent should be asked to open. */
const MAX_URL_CHARS = 4_096;
/** Text scanned for bare URLs; links sit in the first screens of an email. */
const MAX_SCAN_CHARS = 200_000;
const MAX_TEXT_URLS = 300;

// Bounded and free of nested quantifiers: one pass over the text, whatever it holds.
const BARE_URL = /https?:\/\/[^\s<>"'`{}|\\^[\]]{1,4096}/gi;

/** A link found in an email, with the words a reader sees on or before it. */
export interface FoundLink {
  href: string;
  text: string;
  pixel: boolean;
  /** Words taken from around a bare URL, not an anchor's own text: weaker evidence. */
  nearby?: boolean;
}

/** Trailing punctuation of the sentence a bare URL ends, and unbalanced closing brackets. */
function trimUrl(raw: string): string {
  let url = raw.replace(/[.,;:!?'"»’”…]+$/u, "");
  while (url.endsWith(")") && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0))
    url = url.slice(0, -1).replace(/[.,;:!?]+$/, "");
  return url;
}

/** Bare URLs in text, each with the words before it on its line (or the line above). */
export function textLinks(text: string): FoundLink[] {
  const body = text.slice(0, MAX_SCAN_CHARS);
  const out: FoundLink[] = [];
  for (const m of body.matchAll(BARE_URL)) {
    if (out.length >= MAX_TEXT_URLS) break;
    const from = Math.max(0, m.index - 200);
    const lines = body.slice(from, m.index).split("\n");
    let context = lines.pop() ?? "";
    // A URL alone on its line is explained by the line above ("Confirm your email:\nhttps://…").
    if (context.trim() === "") context = [...lines].reverse().find((l) => l.trim() !== "") ?? "";
    out.push({ href: trimUrl(m[0]), text: context.slice(-120).trim(), pixel: false, nearby: true });
  }
  return out;
}

function parseHttp(href: string): URL | undefined {
  if (href.length > MAX_URL_CHARS || !/^https?:\/\//i.test(href)) return undefined;
  try {
    const url = new URL(href.replace(/&amp;/g, "&"));
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The links that act on the account (verify, confirm, magic link, sign in, reset, accept an
 * invite), ranked the way a person looking for one would: anchor text and URL words first.
 * Everything else is left out — unsubscribe, policies, social, help, app stores, tracking
 * pixels, and the "view order" or "read more" links of receipts and newsletters — so a
 * receipt or a newsletter yields none. Click trackers are unwrapped only when their target is
 * visible in the query. Ties keep document order. URLs come back normalized by WHATWG `URL`
 * (so they carry no spaces, quotes or control characters).
 */
export function rankLinks(found: FoundLink[]): string[] {
  const best = new Map<string, { score: number; order: number }>();
  for (const [order, link] of found.entries()) {
    const parsed = parseHttp(link.href.trim());
    if (parsed === undefined) continue;
    const url = unwrapRedirect(parsed);
    const verdict = judgeLink(url, link.text, link.pixel, link.nearby === true);
    const key = url.href;
    const score = verdict.drop || !verdict.action ? Number.NEGATIVE_INFINITY : verdict.score;
    const previous = best.get(key);
    // The same URL under several anchors or also bare in the text: its best sighting counts.
    if (previous === undefined) best.set(key, { score, order });
    else if (score > previous.score) best.set(key, { score, order: previous.order });
  }
  return [...best.entries()]
    .filter(([, v]) => v.score !== Number.NEGATIVE_INFINITY)
    .sort((a, b) => b[1].score - a[1].score || a[1].order - b[1].order)
    .slice(0, MAX_LINKS)
    .map(([href]) => href);
}

/** HTML anchors as found links. */
export const anchorLinks = (anchors: Anchor[]): FoundLink[] =>
  anchors.map((a) => ({ href: a.href, text: a.text, pixel: a.pixel }));
