import { clean, type Link } from "./code-context.js";
import { countCandidates, type Shape } from "./code-shape.js";
import {
  ACTION_AFTER,
  ACTION_BEFORE,
  COPULA_BEFORE,
  PURPOSE,
  STALE_AFTER,
  STALE_BEFORE,
} from "./code-words.js";

// What the sentence around a candidate does with it: hands it over ("Use 771122 to sign in")
// or calls it stale ("Your previous code 112233 has expired").

// A sentence ends at a full stop, "!", "?" or ";" before a space, or at a CJK stop.
const SENTENCE_END = /[.!?;](?:\s|$)|[。！？]/u;
const SENTENCE_ENDS = /[.!?;](?=\s)|[。！？]/gu;
const CLAUSE_END = /^\s*(?:[,;:–—(]|$)/u;

interface Around {
  /** Up to 40 characters before the candidate, within its line. */
  before: string;
  /** The rest of its sentence after it (at most 160 characters, within its line). */
  after: string;
  /** A verb before it, or a Japanese/Korean one after it, asks to type or copy it. */
  acted: boolean;
}

/** The sentence around a candidate and whether a verb hands it to the reader. */
export function handedOver(body: string, shape: Shape, lineStart: number, lineEnd: number): Around {
  const before = body.slice(Math.max(lineStart, shape.start - 40), shape.start);
  const rest = body.slice(shape.end, Math.min(lineEnd, shape.end + 160));
  const stop = rest.search(SENTENCE_END);
  const after = stop === -1 ? rest : rest.slice(0, stop);
  return { before, after, acted: ACTION_AFTER.test(after) || ACTION_BEFORE.test(before) };
}

/**
 * A candidate no keyword introduces, handed to the reader by a verb: "Use 771122 to sign in",
 * "Enter 583920 to finish signing up" (verb + purpose in one sentence), or — when the subject
 * already names a code — "Use 847293 to continue" / "It is 847293" with the candidate alone in
 * its sentence. Decoy nouns, other numbers and units in the sentence veto it ("Enter 10001 as
 * your zip code"); year- and phone-like shapes never qualify ("Use 2024 as the year").
 */
export function actionLink(
  body: string,
  shape: Shape,
  lineStart: number,
  lineEnd: number,
  subjectNamesCode: boolean,
): Link | undefined {
  if (shape.needsTight) return undefined;
  const { before, after, acted } = handedOver(body, shape, lineStart, lineEnd);
  if (acted) {
    const purpose = PURPOSE.exec(after);
    if (purpose && clean(after.slice(0, purpose.index))) return { strength: 1, tight: true, distance: 0 };
  }
  if (!subjectNamesCode || !clean(after)) return undefined;
  // "It is 847293." yes; "Our address is 1600 Amphitheatre Parkway" no: a copula's code ends its clause.
  if (!acted && !(COPULA_BEFORE.test(before) && CLAUSE_END.test(after))) return undefined;
  const head = body.slice(Math.max(lineStart, shape.start - 200), shape.start);
  let from = 0;
  for (const end of head.matchAll(SENTENCE_ENDS)) from = end.index + end[0].length;
  return countCandidates(head.slice(from) + shape.shown + after) === 1
    ? { strength: 1, tight: true, distance: 1 }
    : undefined;
}

/** "Your previous code 112233 has expired": quoted beside the new code, it is not one. */
export function isStale(
  body: string,
  lineStart: number,
  lineEnd: number,
  start: number,
  end: number,
): boolean {
  const head = body.slice(Math.max(lineStart, start - 80), start);
  let from = 0;
  for (const stop of head.matchAll(SENTENCE_ENDS)) from = stop.index + stop[0].length;
  return (
    STALE_BEFORE.test(head.slice(from)) || STALE_AFTER.test(body.slice(end, Math.min(lineEnd, end + 80)))
  );
}
