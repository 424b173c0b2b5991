import { mayHoldKeyword } from "./code-keyword-hint.js";
import { classifyWord, ELISION, PROMO, QUALIFIER_NEAR, type WordKind } from "./code-words.js";

// The words around a code candidate, and the keyword ("code", "verification") that owns it.

const WORD = /[\p{L}\p{M}]+|\p{N}+/gu;
const NUMBER = /^\p{N}+$/u;
const CJK_SCRIPT = /[\p{sc=Han}\p{sc=Hangul}]/u;

export interface Token {
  text: string;
  kind: WordKind | "number";
}

/** Words of a short window, each classified with its neighbours in view. */
export function tokens(window: string): Token[] {
  const words = [...window.replace(ELISION, " ").matchAll(WORD)].map((m) => m[0]);
  return words.map((text, i) => {
    if (NUMBER.test(text)) return { text, kind: "number" as const };
    const at = (j: number) => (words[j] ?? "").toLowerCase();
    return { text, kind: classifyWord(text, at(i - 1), at(i + 1), at(i + 2)) };
  });
}

/** How a keyword ties to a candidate: its strength, right beside it or not, how many words away. */
export interface Link {
  strength: number;
  tight: boolean;
  distance: number;
}

const strengthOf = (token: Token, around: string): number =>
  token.kind === "qualifier" ? 1 : QUALIFIER_NEAR.test(around) || CJK_SCRIPT.test(token.text) ? 3 : 2;

/** Walks back from a candidate to the keyword that introduces it on the same line. */
export function keywordBefore(before: string): Link | "decoy" | undefined {
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
export function keywordAfter(after: string): Link | "decoy" | undefined {
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
export function keywordAbove(text: string, lineStart: number): Link | undefined {
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

/** Nothing that owns a number: no decoy noun, no other number, no unit, no month. */
export const clean = (text: string): boolean =>
  tokens(text).every(
    (t) => t.kind !== "decoy" && t.kind !== "number" && t.kind !== "unit" && t.kind !== "month",
  );

/** "Your sign-in code", "Verify your email": a subject about a code, and about nothing else. */
export function namesCode(subject: string): boolean {
  const text = subject.slice(0, 300).normalize("NFKC");
  if (!mayHoldKeyword(text) || PROMO.test(text)) return false;
  const kinds = tokens(text).map((t) => t.kind);
  return kinds.some((k) => k === "keyword" || k === "qualifier") && !kinds.includes("decoy");
}
