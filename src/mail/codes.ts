import { actionLink, handedOver, isStale } from "./code-action.js";
import { keywordAbove, keywordAfter, keywordBefore, namesCode } from "./code-context.js";
import { mayHoldKeyword } from "./code-keyword-hint.js";
import { codeShape, RUN, type Shape } from "./code-shape.js";
import { PROMO } from "./code-words.js";

/** Codes sit near the top of an email; scanning further only invites decoys and slowness. */
const MAX_SCAN_CHARS = 200_000;
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

/** One text being scanned, and what holds for all of its candidates. */
interface Scan {
  body: string;
  /** Favours the subject. */
  bonus: number;
  prominent: Set<string>;
  found: Map<string, CodeMatch>;
  subjectNamesCode: boolean;
  /** Some word of the body may be a keyword (when not, only a verb can hand a code over). */
  keywords: boolean;
}

const STANDALONE_FRAME = /^[\s:：>*•|"'“”«»([\]]+|[\s.:!"'“”«»)\]|]+$/gu;
const isStandalone = (line: string, shown: string): boolean =>
  line.length <= shown.length + 24 && line.replace(STANDALONE_FRAME, "") === shown;

const compactOf = (s: string) => s.replace(/[^A-Z0-9]/g, "");
const SIX_DIGITS = /^\d{6}$/;

/** Scores every code candidate in one text. */
function scan(
  text: string,
  bonus: number,
  prominent: Set<string>,
  found: Map<string, CodeMatch>,
  subjectNamesCode = false,
): void {
  const body = text.slice(0, MAX_SCAN_CHARS).normalize("NFKC");
  const at: Scan = { body, bonus, prominent, found, subjectNamesCode, keywords: mayHoldKeyword(body) };
  let seen = 0;
  for (const run of body.matchAll(RUN)) {
    if (++seen > MAX_CANDIDATES) break;
    for (const shape of codeShape(run[0], run.index)) consider(at, shape);
  }
}

function consider(at: Scan, shape: Shape): void {
  const { body, prominent, found } = at;
  const { start, end, shown } = shape;
  // Line bounds looked up within a window: a megabyte without newlines must stay linear.
  const from = Math.max(0, start - 400);
  const lineStart = from + body.slice(from, start).lastIndexOf("\n") + 1;
  const lineEndAt = body.slice(end, end + 400).indexOf("\n");
  const lineEnd = lineEndAt === -1 ? Math.min(body.length, end + 400) : end + lineEndAt;
  // With no keyword anywhere, only a verb could hand this one over (see actionLink): when
  // none does, the walk through the words around it would find nothing.
  if (
    !at.keywords &&
    !at.subjectNamesCode &&
    (shape.needsTight || !handedOver(body, shape, lineStart, lineEnd).acted)
  )
    return;
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
  link ??= actionLink(body, shape, lineStart, lineEnd, at.subjectNamesCode);
  if (link === undefined) return;
  const score =
    link.strength * 10 +
    (link.tight ? 8 : 0) +
    (standalone ? 6 : 0) +
    (isProminent ? 6 : 0) +
    at.bonus +
    (shape.code.length === 6 && SIX_DIGITS.test(shape.code) ? 2 : 0) -
    link.distance / 4;
  const previous = found.get(shape.code);
  if (previous === undefined || previous.score < score)
    found.set(shape.code, { code: shape.code, shown, score });
}

const PROMINENT_CODE = /^[A-Z0-9]+(?:[ -][A-Z0-9]+)*$/;

/** All one-time codes in an email, best first (at most five). */
export function findCodes(sources: CodeSources): CodeMatch[] {
  const prominent = new Set<string>();
  for (const text of sources.prominent ?? []) {
    // Only a prominent text that is nothing but a code counts ("604 118", not "alex.r.2931@…").
    const trimmed = text.normalize("NFKC").trim();
    if (trimmed.length > 16 || !PROMINENT_CODE.test(trimmed)) continue;
    const compact = compactOf(trimmed);
    if (compact.length >= 4 && compact.length <= 10) prominent.add(compact);
  }
  const found = new Map<string, CodeMatch>();
  if (sources.subject) scan(sources.subject, 4, prominent, found);
  const subjectNamesCode = sources.subject ? namesCode(sources.subject) : false;
  for (const body of sources.bodies ?? []) if (body) scan(body, 0, prominent, found, subjectNamesCode);
  return [...found.values()].sort((a, b) => b.score - a.score).slice(0, MAX_CODES);
}
