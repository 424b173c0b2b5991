import { convert } from "html-to-text";

/** HTML reduced to readable text: links kept as `text [url]`, images and scripts dropped. */
export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: "img", format: "skip" },
      { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
    ],
  }).trim();
}

/** Cuts text to `max` characters on a whitespace boundary when one is near, with a note. */
export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const cut = text.lastIndexOf(" ", max);
  const end = cut > max * 0.8 ? cut : max;
  return {
    text: `${text.slice(0, end)} … [truncated: ${text.length - end} more characters]`,
    truncated: true,
  };
}
