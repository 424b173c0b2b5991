import { tidy } from "./html.js";

/** Cuts text to `max` characters on a whitespace boundary when one is near, with a note. */
export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let end = max;
  // Prefer a line or word boundary in the last fifth; never split a surrogate pair.
  const newline = text.lastIndexOf("\n", max);
  const space = text.lastIndexOf(" ", max);
  const boundary = Math.max(newline, space);
  if (boundary > max * 0.8) end = boundary;
  else if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return {
    text: `${text.slice(0, end).trimEnd()}\n… [truncated: ${text.length - end} more characters not shown]`,
    truncated: true,
  };
}

/** The fence characters of the untrusted block; email content never keeps them. */
export const FENCE_OPEN = "⟦";
export const FENCE_CLOSE = "⟧";

// C0/C1 controls (but tab and newline), bidi overrides and isolates, and the fence brackets.
// Bidi controls can make text read differently from its bytes; controls can fake terminals.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u27e6\u27e7]/g;

// Half of a surrogate pair: JSON escapes it as six characters, and no reader can show it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Email text made safe to place inside the untrusted block: controls and bidi overrides
 * removed, CRLF folded, and the fence brackets replaced by plain ones so content can never
 * print a marker that looks like the end of the block.
 */
export function neutralize(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(UNSAFE, (c) => (c === FENCE_OPEN ? "[" : c === FENCE_CLOSE ? "]" : ""))
    .replace(LONE_SURROGATE, "\ufffd");
}

// Visible characters that neutralize keeps and that are not whitespace to JavaScript's `\s`
// (no controls, bidi controls, fence brackets or surrogates), single spaces between them.
const VISIBLE =
  "\\x21-\\x7e\\u00a1-\\u167f\\u1681-\\u1fff\\u200b-\\u2027\\u2030-\\u205e\\u2060-\\u2065\\u206a-\\u27e5\\u27e8-\\u2fff\\u3001-\\ud7ff\\ue000-\\ufefe\\uff00-\\uffff";
const ALREADY_ONE_LINE = new RegExp(`^(?:[${VISIBLE}]+(?: [${VISIBLE}]+)*)?$`);

/** One line of untrusted text (a subject or sender): newlines folded, neutralised, bounded. */
export function oneLine(text: string, max = 300): string {
  // Most fields already are one short safe line, which every step below would leave as it is.
  if (text.length <= max && ALREADY_ONE_LINE.test(text)) return text;
  return truncate(neutralize(text).replace(/\s+/g, " ").trim(), max).text.replace(/\n/g, " ");
}

/** Plain-text bodies get the same blank-line and trailing-space cleanup as converted HTML. */
export function cleanText(text: string): string {
  return tidy(neutralize(text));
}
