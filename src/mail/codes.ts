import { codeShape, type Shape } from "./code-shape.js";
import {
  ACTION_AFTER,
  ACTION_BEFORE,
  COPULA_BEFORE,
  classifyWord,
  ELISION,
  PROMO,
  PURPOSE,
  QUALIFIER_NEAR,
  STALE_AFTER,
  STALE_BEFORE,
  type WordKind,
} from "./code-words.js";

/** Codes sit near the top of an email; scanning further only invites decoys and slowness. */
export const MAX_SCAN_CHARS = 200_000;
/** Candidates weighed per text: beyond this a text is not a one-time-code email. */
const MAX_CANDIDATES = 2_000;
const MAX_CODES = 5;

/** One code found in an email. */
export interface CodeMatch {
  /** Normalized: separators removed (what an agent types). */
  code: string;
  /** As the email shows it (after Unicode compatibility normalisation), e.g. `482-193`. */
  shown: string;
  /** Higher is more certain; only the order is meaningful. */
  score: number;
}

/** The texts one email offers; each is scanned separately. */
export interface CodeSources {
  subject?: string | undefined;
  /** Plain-text body and/or the HTML body reduced to text. */
  bodies?: (string | undefined)[];
  /** Short texts the HTML sets large, bold or monospace. */
  prominent?: string[];
}

// A run of up to six upper-case/digit groups joined by single spaces or hyphens, not glued
// to a word, a currency sign, a '#' colour, a URL or a decimal. Every quantifier is bounded,
// so a failed match costs a constant number of steps per start position: linear overall.
// Latin, Greek and Cyrillic letters glue to a code; CJK does not ("验证码是482193").
const GLUE = "A-Za-z0-9_\\u00c0-\\u024f\\u0370-\\u03ff\\u0400-\\u04ff";
const RUN = new RegExp(
  `(?<![${GLUE}#$€£¥₩₹₽+@\\\\=&%©®§~*]|[0-9][.,:/]|[A-Za-z0-9][-/.]|:/)` +
    "[A-Z0-9]{1,12}(?:(?:[ \\u00a0\\u2009\\u202f]|[-\\u2010\\u2011\\u2013])[A-Z0-9]{1,12}){0,5}" +
    // A comma glues only as a thousands separator ("1,234") or a decimal before a currency.
    `(?![${GLUE}@]|[.:/-][A-Za-z0-9]|,\\d{3}(?!\\d)|,\\d{1,2}\\s?(?:€|EUR|zł|TL|kr|₽)|\\s?[%€$£¥])`,
  "g",
);
const WORD = /[\p{L}\p{M}]+|\p{N}+/gu;

interface Token {
  text: string;
  kind: WordKind | "number";
}

/** Words of a short window, each classified with its neighbours in view. */
function tokens(window: string): Token[] {
  const words = [...window.replace(ELISION, " ").matchAll(WORD)].map((m) => m[0]);
  return words.map((text, i) => {
    if (/^\p{N}+$/u.test(text)) return { text, kind: "number" as const };
    const at = (j: number) => (words[j] ?? "").toLowerCase();
    return { text, kind: classifyWord(text, at(i - 1), at(i + 1), at(i + 2)) };
  });
}

interface Link {
  strength: number;
  tight: boolean;
  distance: number;
}

const strengthOf = (token: Token, around: string): number =>
  token.kind === "qualifier"
    ? 1
    : QUALIFIER_NEAR.test(around) || /[\p{sc=Han}\p{sc=Hangul}]/u.test(token.text)
      ? 3
      : 2;

/** Walks back from a candidate to the keyword that introduces it on the same line. */
function keywordBefore(before: string): Link | "decoy" | undefined {
  const list = tokens(before).reverse();
  let owned = false; // a number in between owns the decoy before it ("order 5521 is 482193")
  let significant = 0;
  for (const [i, token] of list.entries()) {
    if (i > 12) break;
    if (token.kind === "keyword" || token.kind === "qualifier") {
      // "código de verificación es …": the noun just before the qualifier decides.
      const noun = [list[i + 1], list[i + 2]].find((t) => t?.kind === "keyword") ?? token;
      const around = list
        .slice(Math.max(0, i - 4), i + 5)
        .map((t) => t.text)
        .join(" ");
      return { strength: strengthOf(noun, around), tight: significant === 0, distance: i };
    }
    if (token.kind === "connector") continue;
    if (token.kind === "number") owned = true;
    else if ((token.kind === "decoy" || token.kind === "month" || token.kind === "unit") && !owned)
      return "decoy";
    significant++;
  }
  return undefined;
}

/** "482193 is your verification code": a keyword just after the candidate. */
function keywordAfter(after: string): Link | "decoy" | undefined {
  const list = tokens(after);
  if (list[0]?.kind === "unit" || list[0]?.kind === "month") return "decoy";
  let significant = 0;
  for (const [i, token] of list.entries()) {
    if (i > 6) break;
    if (token.kind === "keyword" || token.kind === "qualifier") {
      // "… your Google verification code": the noun right after the qualifier decides.
      const noun = [list[i + 1], list[i + 2]].find((t) => t?.kind === "keyword") ?? token;
      const around = list
        .slice(Math.max(0, i - 3), i + 3)
        .map((t) => t.text)
        .join(" ");
      return { strength: strengthOf(noun, around), tight: significant === 0, distance: i };
    }
    if (token.kind === "decoy" || token.kind === "number") return undefined;
    if (token.kind !== "connector") significant++;
  }
  return undefined;
}

/** A keyword in the few lines above a code that stands alone on its line. */
function keywordAbove(text: string, lineStart: number): Link | undefined {
  const above = text
    .slice(Math.max(0, lineStart - 400), lineStart)
    .split("\n")
    .reverse();
  let seen = 0;
  for (const line of above) {
    if (line.trim() === "") continue;
    if (++seen > 3) break;
    // The line introduces the code if its last keyword is not followed by a decoy
    // ("Your code:" yes, "Order number:" no, "Enter this code to log in:" yes).
    let link: Link | undefined;
    let decoy = false;
    for (const token of tokens(line)) {
      if (token.kind === "keyword" || token.kind === "qualifier") {
        const strength = strengthOf(token, line);
        if (link === undefined || strength >= link.strength)
          link = { strength, tight: false, distance: seen * 3 };
        decoy = false;
      } else if (token.kind === "decoy") decoy = true;
    }
    if (decoy) return undefined;
    if (link) return link;
  }
  return undefined;
}

const isStandalone = (line: string, shown: string): boolean =>
  line.length <= shown.length + 24 &&
  line.replace(/^[\s:：>*•|"'“”«»([\]]+|[\s.:!"'“”«»)\]|]+$/gu, "") === shown;

const compactOf = (s: string) => s.replace(/[^A-Z0-9]/g, "");

// A sentence ends at a full stop, "!", "?" or ";" before a space, or at a CJK stop.
const SENTENCE_END = /[.!?;](?:\s|$)|[。！？]/u;
const SENTENCE_ENDS = /[.!?;](?=\s)|[。！？]/gu;

/** Nothing that owns a number: no decoy noun, no other number, no unit, no month. */
const clean = (text: string): boolean =>
  tokens(text).every(
    (t) => t.kind !== "decoy" && t.kind !== "number" && t.kind !== "unit" && t.kind !== "month",
  );

/** Code-shaped candidates in a short text. */
function candidatesIn(text: string): number {
  let count = 0;
  for (const run of text.matchAll(RUN)) count += codeShape(run[0], run.index).length;
  return count;
}

/**
 * A candidate no keyword introduces, handed to the reader by a verb: "Use 771122 to sign in",
 * "Enter 583920 to finish signing up" (verb + purpose in one sentence), or — when the subject
 * already names a code — "Use 847293 to continue" / "It is 847293" with the candidate alone in
 * its sentence. Decoy nouns, other numbers and units in the sentence veto it ("Enter 10001 as
 * your zip code"); year- and phone-like shapes never qualify ("Use 2024 as the year").
 */
function actionLink(
  body: string,
  shape: Shape,
  lineStart: number,
  lineEnd: number,
  subjectNamesCode: boolean,
): Link | undefined {
  if (shape.needsTight) return undefined;
  const before = body.slice(Math.max(lineStart, shape.start - 40), shape.start);
  const rest = body.slice(shape.end, Math.min(lineEnd, shape.end + 160));
  const stop = rest.search(SENTENCE_END);
  const after = stop === -1 ? rest : rest.slice(0, stop);
  const acted = ACTION_AFTER.test(after) || ACTION_BEFORE.test(before);
  if (acted) {
    const purpose = PURPOSE.exec(after);
    if (purpose && clean(after.slice(0, purpose.index))) return { strength: 1, tight: true, distance: 0 };
  }
  if (!subjectNamesCode || !clean(after)) return undefined;
  // "It is 847293." yes; "Our address is 1600 Amphitheatre Parkway" no: a copula's code ends its clause.
  if (!acted && !(COPULA_BEFORE.test(before) && /^\s*(?:[,;:–—(]|$)/u.test(after))) return undefined;
  const head = body.slice(Math.max(lineStart, shape.start - 200), shape.start);
  let from = 0;
  for (const end of head.matchAll(SENTENCE_ENDS)) from = end.index + end[0].length;
  return candidatesIn(head.slice(from) + shape.shown + after) === 1
    ? { strength: 1, tight: true, distance: 1 }
    : undefined;
}

/** Scores every code candidate in one text; `bonus` favours the subject. */
function scan(
  text: string,
  bonus: number,
  prominent: Set<string>,
  found: Map<string, CodeMatch>,
  subjectNamesCode = false,
): void {
  const body = text.slice(0, MAX_SCAN_CHARS).normalize("NFKC");
  let seen = 0;
  for (const run of body.matchAll(RUN)) {
    if (++seen > MAX_CANDIDATES) break;
    for (const shape of codeShape(run[0], run.index))
      consider(body, shape, bonus, prominent, found, subjectNamesCode);
  }
}

function consider(
  body: string,
  shape: Shape,
  bonus: number,
  prominent: Set<string>,
  found: Map<string, CodeMatch>,
  subjectNamesCode: boolean,
): void {
  const { start, end, shown } = shape;
  // Line bounds looked up within a window: a megabyte without newlines must stay linear.
  const from = Math.max(0, start - 400);
  const lineStart = from + body.slice(from, start).lastIndexOf("\n") + 1;
  const lineEndAt = body.slice(end, end + 400).indexOf("\n");
  const lineEnd = lineEndAt === -1 ? Math.min(body.length, end + 400) : end + lineEndAt;
  const line = body.slice(lineStart, lineEnd);
  if (PROMO.test(line.length > 300 ? body.slice(Math.max(lineStart, start - 150), end + 150) : line)) return;
  const before = keywordBefore(body.slice(Math.max(lineStart, start - 120), start));
  const after = keywordAfter(body.slice(end, Math.min(lineEnd, end + 60)));
  if (before === "decoy" || after === "decoy") return;
  if (isStale(body, lineStart, lineEnd, start, end)) return;
  const standalone = isStandalone(line, shown);
  const isProminent = prominent.has(compactOf(shown));
  const framed = standalone || isProminent;
  let link = before ?? after ?? (framed ? keywordAbove(body, lineStart) : undefined);
  if (link && ((link.strength === 1 && !link.tight && !framed) || (shape.needsTight && !link.tight)))
    link = undefined;
  // No keyword owns it: a verb that asks to type it may ("Use 771122 to sign in").
  link ??= actionLink(body, shape, lineStart, lineEnd, subjectNamesCode);
  if (link === undefined) return;
  const score =
    link.strength * 10 +
    (link.tight ? 8 : 0) +
    (standalone ? 6 : 0) +
    (isProminent ? 6 : 0) +
    bonus +
    (shape.code.length === 6 && /^\d+$/.test(shape.code) ? 2 : 0) -
    link.distance / 4;
  const previous = found.get(shape.code);
  if (previous === undefined || previous.score < score)
    found.set(shape.code, { code: shape.code, shown, score });
}

/** "Your previous code 112233 has expired": quoted beside the new code, it is not one. */
function isStale(body: string, lineStart: number, lineEnd: number, start: number, end: number): boolean {
  const head = body.slice(Math.max(lineStart, start - 80), start);
  let from = 0;
  for (const stop of head.matchAll(SENTENCE_ENDS)) from = stop.index + stop[0].length;
  return (
    STALE_BEFORE.test(head.slice(from)) || STALE_AFTER.test(body.slice(end, Math.min(lineEnd, end + 80)))
  );
}

/** "Your sign-in code", "Verify your email": a subject about a code, and about nothing else. */
function namesCode(subject: string): boolean {
  const text = subject.slice(0, 300).normalize("NFKC");
  if (PROMO.test(text)) return false;
  const kinds = tokens(text).map((t) => t.kind);
  return kinds.some((k) => k === "keyword" || k === "qualifier") && !kinds.includes("decoy");
}

/** All one-time codes in an email, best first (at most five). */
export function findCodes(sources: CodeSources): CodeMatch[] {
  const prominent = new Set<string>();
  for (const text of sources.prominent ?? []) {
    // Only a prominent text that is nothing but a code counts ("604 118", not "alex.r.2931@…").
    const trimmed = text.normalize("NFKC").trim();
    if (trimmed.length > 16 || !/^[A-Z0-9]+(?:[ -][A-Z0-9]+)*$/.test(trimmed)) continue;
    const compact = compactOf(trimmed);
    if (compact.length >= 4 && compact.length <= 10) prominent.add(compact);
  }
  const found = new Map<string, CodeMatch>();
  if (sources.subject) scan(sources.subject, 4, prominent, found);
  const subjectNamesCode = sources.subject ? namesCode(sources.subject) : false;
  for (const body of sources.bodies ?? []) if (body) scan(body, 0, prominent, found, subjectNamesCode);
  return [...found.values()].sort((a, b) => b.score - a.score).slice(0, MAX_CODES);
}
