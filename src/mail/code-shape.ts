/**
 * Which runs of upper-case letters and digits look like a one-time code: `482193`,
 * `482 193`, `4821-9371`, `K7Q-92X`, `G-482193` — and not `2024-05-12`, `415 555 0132`,
 * `1080P`, `64GB` or a shouted sentence.
 */

// A run of up to six upper-case/digit groups joined by single spaces or hyphens, not glued
// to a word, a currency sign, a '#' colour, a URL or a decimal. Every quantifier is bounded,
// so a failed match costs a constant number of steps per start position: linear overall.
// Latin, Greek and Cyrillic letters glue to a code; CJK does not ("验证码是482193").
const GLUE = "A-Za-z0-9_\\u00c0-\\u024f\\u0370-\\u03ff\\u0400-\\u04ff";
/** Runs that may hold codes; `codeShape` splits each into its code-shaped parts. */
export const RUN = new RegExp(
  `(?<![${GLUE}#$€£¥₩₹₽+@\\\\=&%©®§~*]|[0-9][.,:/]|[A-Za-z0-9][-/.]|:/)` +
    "[A-Z0-9]{1,12}(?:(?:[ \\u00a0\\u2009\\u202f]|[-\\u2010\\u2011\\u2013])[A-Z0-9]{1,12}){0,5}" +
    // A comma glues only as a thousands separator ("1,234") or a decimal before a currency.
    `(?![${GLUE}@]|[.:/-][A-Za-z0-9]|,\\d{3}(?!\\d)|,\\d{1,2}\\s?(?:€|EUR|zł|TL|kr|₽)|\\s?[%€$£¥])`,
  "g",
);

/** A candidate code inside a text. */
export interface Shape {
  /** Normalized: separators removed. */
  code: string;
  /** As written. */
  shown: string;
  start: number;
  end: number;
  /** Looks like a year or a phone/account number: accept only right after a keyword. */
  needsTight: boolean;
}

// Quantities and product names that mix letters and digits: "10AM", "64GB", "1080P", "4K".
const UNITISH =
  /^\d+(?:AM|PM|MB|GB|KB|TB|K|M|H|X|P|ST|ND|RD|TH|KG|LB|MM|CM|KM|MP|HZ|MHZ|GHZ|V|W|MAH)$|^[A-Z]{1,3}\d{1,2}$/;

interface Group {
  text: string;
  /** Separator before this group ("" for the first). */
  sep: string;
  at: number;
}

function groupsOf(run: string, offset: number): Group[] {
  const groups: Group[] = [];
  let at = 0;
  for (const m of run.matchAll(/([ \u00a0\u2009\u202f\-\u2010\u2011\u2013]?)([A-Z0-9]+)/g)) {
    at = m.index + (m[1] ?? "").length;
    groups.push({ text: m[2] ?? "", sep: m[1] ?? "", at: offset + at });
  }
  return groups;
}

const isLetters = (s: string) => /^[A-Z]+$/.test(s);
const isDigits = (s: string) => /^\d+$/.test(s);
const isSpace = (sep: string) => sep !== "" && !/[-\u2010\u2011\u2013]/.test(sep);

/** Splits a run at words in capitals ("CODE 482193 EXPIRES") and keeps the code-shaped parts. */
export function codeShape(run: string, offset: number): Shape[] {
  const groups = groupsOf(run, offset);
  const parts: Group[][] = [];
  let current: Group[] = [];
  for (const [i, group] of groups.entries()) {
    const next = groups[i + 1];
    // A letters-only group joined by spaces on both sides is a word, not part of a code.
    const word =
      isLetters(group.text) && (i === 0 || isSpace(group.sep)) && (next === undefined || isSpace(next.sep));
    if (word) {
      if (current.length > 0) parts.push(current);
      current = [];
    } else {
      current.push(group);
    }
  }
  if (current.length > 0) parts.push(current);
  const shapes: Shape[] = [];
  for (const part of parts) {
    const shape = validate(part);
    if (shape) shapes.push(shape);
  }
  return shapes;
}

function validate(part: Group[]): Shape | undefined {
  const first = part[0];
  const last = part[part.length - 1];
  if (first === undefined || last === undefined) return undefined;
  const shown = part.map((g, i) => (i === 0 ? g.text : g.sep + g.text)).join("");
  const start = first.at;
  const end = last.at + last.text.length;
  const texts = part.map((g) => g.text);
  const code = texts.join("");
  // "G-482193": a one-letter label before the digits; the code is the digits.
  if (part.length === 2 && /^[A-Z]$/.test(first.text) && isDigits(last.text) && /^-$/.test(last.sep)) {
    if (last.text.length < 4 || last.text.length > 8) return undefined;
    return { code: last.text, shown, start, end, needsTight: false };
  }
  if (code.length < 4 || code.length > 10) return undefined;
  if (!/\d/.test(code)) return undefined;
  if (part.length > 1) {
    const size = texts[0]?.length ?? 0;
    if (!texts.every((t) => t.length === size) || size < 3 || size > 5) return undefined;
    const mixed = !isDigits(code);
    // Letter codes are grouped with hyphens; "K7Q 92X" with a space is too easily two words.
    if (mixed && part.slice(1).some((g) => isSpace(g.sep))) return undefined;
    if (part.some((g, i) => i > 0 && g.sep !== part[1]?.sep)) return undefined;
    return { code, shown, start, end, needsTight: false };
  }
  if (!isDigits(code)) {
    if (UNITISH.test(code) || !/[A-Z]/.test(code)) return undefined;
    return { code, shown, start, end, needsTight: false };
  }
  const year = code.length === 4 && /^(?:19|20)\d\d$/.test(code);
  return { code, shown, start, end, needsTight: year || code.length >= 9 };
}

/** Code-shaped candidates in a short text. */
export function countCandidates(text: string): number {
  let count = 0;
  for (const run of text.matchAll(RUN)) count += codeShape(run[0], run.index).length;
  return count;
}
