import { CJK_KEYWORD, CODE_NOUNS, COMPOUND_SUFFIX, QUALIFIER_WORD, UPPER_NOUNS } from "./code-words.js";

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Every way classifyWord reads a word as a keyword or a qualifier, loosened to a substring
// anywhere: a code noun (a final "ς" dropped: lower-casing a whole text may write it "σ"
// where the word alone gets "ς"), a compound's suffix, a qualifier's prefix. Built from the
// vocabulary itself, so a word added there is never missed here.
const LOWER_HINT = new RegExp(
  [
    ...[...CODE_NOUNS].map((noun) => literal(noun.replace(/ς$/u, ""))),
    COMPOUND_SUFFIX.source.replace(/\$$/, ""),
    QUALIFIER_WORD.source.replace(/^\^/, ""),
  ].join("|"),
);
// The upper-case nouns ("PIN", "TAN") count only as written.
const CASED_HINT = new RegExp([...UPPER_NOUNS].map(literal).join("|"));

/**
 * False only when no word of `text` — nor of any window cut from it — can read as a keyword
 * or qualifier (it may be true of a text with none). Most emails name no code at all, and
 * for them the word-by-word walk around each candidate is skipped.
 */
export const mayHoldKeyword = (text: string): boolean =>
  CASED_HINT.test(text) || CJK_KEYWORD.test(text) || LOWER_HINT.test(text.toLowerCase());
