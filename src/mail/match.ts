import { createRequire } from "node:module";
import type { RE2JS as RE2JSClass } from "re2js";
import { MailEventsError } from "../errors.js";
import type { NormalizedEvent } from "./event.js";
import { analyzeHtmlOf } from "./html.js";

/** What `wait_for_email` can filter on; each field is a substring or `/regex/flags`. */
export interface EmailFilter {
  from?: string | undefined;
  /** Any recipient address (To, or the envelope the local inbox recorded). */
  to?: string | undefined;
  subject?: string | undefined;
  contains?: string | undefined;
}

/**
 * Text a user's regex runs on is cut to this length. The engine is linear, so this bounds a
 * match to a few milliseconds whatever the pattern (the local inbox keeps 32,000 characters).
 */
export const MAX_REGEX_INPUT_CHARS = 32_000;

const REGEX_FORM = /^\/(.+)\/([dgimsuvy]*)$/s;

// re2js (RE2's automata, in JavaScript) runs in time linear in the input: `/(a+)+$/` cannot
// backtrack. ~260 KB that a wait without a regex never needs, so it loads on the first regex.
let re2js: typeof RE2JSClass | undefined;
const loadRe2 = (): typeof RE2JSClass => {
  re2js ??= (createRequire(import.meta.url)("re2js") as typeof import("re2js")).RE2JS;
  return re2js;
};

function compileRegex(source: string, flags: string, field: string): (value: string) => boolean {
  const RE2JS = loadRe2();
  let mode = 0;
  if (flags.includes("i")) mode |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes("m")) mode |= RE2JS.MULTILINE;
  if (flags.includes("s")) mode |= RE2JS.DOTALL;
  try {
    const re = RE2JS.compile(RE2JS.translateRegExp(source), mode);
    return (value) => re.test(value);
  } catch (error) {
    throw new MailEventsError(
      "INVALID_INPUT",
      `${field} is not a valid regular expression for this server's linear-time engine (${(error as Error).message}); ` +
        "use RE2 syntax (no backreferences or lookaround) as /pattern/flags, or a plain substring",
      { cause: error },
    );
  }
}

/**
 * `/regex/flags` becomes a linear-time matcher (`g`, `y`, `d`, `u`, `v` change nothing for a
 * yes/no test); anything else a case-insensitive substring test. A pattern the engine cannot
 * run throws INVALID_INPUT naming `field`.
 */
function textMatcher(pattern: string, field: string): (value: string) => boolean {
  const regex = REGEX_FORM.exec(pattern);
  if (regex) {
    const test = compileRegex(regex[1] ?? "", regex[2] ?? "", field);
    return (value) =>
      test(value.length > MAX_REGEX_INPUT_CHARS ? value.slice(0, MAX_REGEX_INPUT_CHARS) : value);
  }
  const needle = pattern.toLowerCase();
  return (value) => value.toLowerCase().includes(needle);
}

/** `"Ann" <ann@x.io>` as written, plus `Ann`, `ann@x.io` and `Ann <ann@x.io>` unquoted. */
function senderForms(from: string): string[] {
  const angle = /^(.{0,500}?)<([^<>]{1,320})>\s*$/s.exec(from);
  if (!angle) return [from];
  const name = (angle[1] ?? "")
    .trim()
    .replace(/^"(.*)"$/s, "$1")
    .trim();
  const address = (angle[2] ?? "").trim();
  return [from, name, address, name === "" ? address : `${name} <${address}>`];
}

/**
 * Compiles the wait filters once; the result tests one event. `from` matches the sender's
 * address or display name (the whole `Name <address>` string), `to` any recipient the same
 * way, `subject` the subject,
 * `contains` the text body or, failing that, the HTML body reduced to text (never raw
 * markup, so `contains: "style"` does not match every HTML email).
 */
export function compileFilter(filter: EmailFilter): (event: NormalizedEvent) => boolean {
  const tests: ((event: NormalizedEvent) => boolean)[] = [];
  if (filter.from) {
    const m = textMatcher(filter.from, "from");
    tests.push((e) => senderForms(e.email?.from ?? "").some(m));
  }
  if (filter.to) {
    const m = textMatcher(filter.to, "to");
    tests.push((e) => (e.email?.to ?? []).some((address) => senderForms(address).some(m)));
  }
  if (filter.subject) {
    const m = textMatcher(filter.subject, "subject");
    tests.push((e) => m(e.email?.subject ?? ""));
  }
  if (filter.contains) {
    const m = textMatcher(filter.contains, "contains");
    tests.push((e) => {
      const email = e.email;
      if (!email) return false;
      if (email.text && m(email.text)) return true;
      return email.html ? m(analyzeHtmlOf(email, email.html).text) : false;
    });
  }
  return (event) => tests.every((t) => t(event));
}
