import { findCodes } from "./codes.js";
import type { HtmlAnalysis } from "./html.js";
import { anchorLinks, rankLinks, textLinks } from "./links.js";
import { cleanText } from "./text.js";

/** What an agent came for in one email. */
export interface Extraction {
  /** The body as a person reads it: the text part, else the HTML's visible text; cleaned. */
  text: string;
  /** One-time codes, normalized (separators removed), best first. */
  codes: string[];
  /** The same codes as the email shows them (`482-193`), in the same order. */
  codesAsShown: string[];
  /** Only the links that act on the account (verify, confirm, sign in, reset, invite), best first. */
  links: string[];
}

/**
 * Codes and links from the subject, the text part and the HTML's *visible* content (hidden
 * blocks never count: `analyzeHtml` drops them), and the text an agent reads. The one
 * extraction both the local inbox (at ingest) and hosted sources (at read time) go through.
 */
export function extract(parts: {
  subject?: string | undefined;
  text?: string | undefined;
  html?: HtmlAnalysis | undefined;
}): Extraction {
  const plain = parts.text?.trim() ? parts.text : undefined;
  const html = parts.html;
  const codes = findCodes({
    subject: parts.subject,
    bodies: [plain, html?.text],
    prominent: html?.prominent ?? [],
  });
  const links = rankLinks([
    ...anchorLinks(html?.anchors ?? []),
    ...textLinks(html?.text ?? ""),
    ...textLinks(plain ?? ""),
  ]);
  return {
    text: plain === undefined ? cleanText(html?.text ?? "") : cleanText(plain),
    codes: codes.map((c) => c.code),
    codesAsShown: codes.map((c) => c.shown),
    links,
  };
}
