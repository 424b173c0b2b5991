import { MailEventsError } from "../errors.js";
import type { NormalizedEvent } from "./event.js";
import { analyzeHtmlOf } from "./html.js";

/** What `wait_for_email` can filter on; each field is a substring or `/regex/flags`. */
export interface EmailFilter {
  from?: string | undefined;
  subject?: string | undefined;
  contains?: string | undefined;
}

/**
 * Text a user's regex runs on is cut to this length. JavaScript regexes backtrack; bounding
 * the input bounds the damage a slow pattern can do to what the pattern itself asks for.
 */
export const MAX_REGEX_INPUT_CHARS = 100_000;

const REGEX_FORM = /^\/(.+)\/([dgimsuvy]*)$/s;

/**
 * `/regex/flags` becomes a RegExp (`g` and `y` ignored: they make `test` stateful); anything
 * else a case-insensitive substring test. A bad regex throws INVALID_INPUT naming `field`.
 */
export function textMatcher(pattern: string, field: string): (value: string) => boolean {
  const regex = REGEX_FORM.exec(pattern);
  if (regex) {
    let re: RegExp;
    try {
      re = new RegExp(regex[1] ?? "", (regex[2] ?? "").replace(/[gy]/g, ""));
    } catch (error) {
      throw new MailEventsError(
        "INVALID_INPUT",
        `${field} is not a valid regular expression (${(error as Error).message}); write /pattern/flags or a plain substring`,
        { cause: error },
      );
    }
    return (value) =>
      re.test(value.length > MAX_REGEX_INPUT_CHARS ? value.slice(0, MAX_REGEX_INPUT_CHARS) : value);
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
 * address or display name (the whole `Name <address>` string), `subject` the subject,
 * `contains` the text body or, failing that, the HTML body reduced to text (never raw
 * markup, so `contains: "style"` does not match every HTML email).
 */
export function compileFilter(filter: EmailFilter): (event: NormalizedEvent) => boolean {
  const tests: ((event: NormalizedEvent) => boolean)[] = [];
  if (filter.from) {
    const m = textMatcher(filter.from, "from");
    tests.push((e) => senderForms(e.email?.from ?? "").some(m));
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
