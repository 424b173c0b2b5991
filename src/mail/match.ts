import { MailEventsError } from "../errors.js";
import type { NormalizedEvent } from "./event.js";

export interface EmailFilter {
  from?: string | undefined;
  subject?: string | undefined;
  contains?: string | undefined;
}

/** `/regex/flags` becomes a RegExp; anything else a case-insensitive substring test. */
export function textMatcher(pattern: string, field: string): (value: string) => boolean {
  const regex = /^\/(.+)\/([dgimsuvy]*)$/s.exec(pattern);
  if (regex) {
    let re: RegExp;
    try {
      re = new RegExp(regex[1] ?? "", (regex[2] ?? "").replace(/[gy]/g, ""));
    } catch (error) {
      throw new MailEventsError(
        "INVALID_INPUT",
        `${field} is not a valid regular expression (${(error as Error).message}); write /pattern/flags or a plain substring`,
      );
    }
    return (value) => re.test(value);
  }
  const needle = pattern.toLowerCase();
  return (value) => value.toLowerCase().includes(needle);
}

/** Compiles the wait filters once; the result tests one event. */
export function compileFilter(filter: EmailFilter): (event: NormalizedEvent) => boolean {
  const tests: ((event: NormalizedEvent) => boolean)[] = [];
  if (filter.from) {
    const m = textMatcher(filter.from, "from");
    tests.push((e) => m(e.email?.from ?? ""));
  }
  if (filter.subject) {
    const m = textMatcher(filter.subject, "subject");
    tests.push((e) => m(e.email?.subject ?? ""));
  }
  if (filter.contains) {
    const m = textMatcher(filter.contains, "contains");
    tests.push((e) => m(e.email?.text ?? "") || m(e.email?.html ?? ""));
  }
  return (event) => tests.every((t) => t(event));
}
