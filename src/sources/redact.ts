/**
 * Upstream bytes can echo our credentials back (an error page quoting the Authorization
 * header, a broken frame dumping the request): every byte from upstream that can reach a
 * message, a log line or a tool result goes through one of these first.
 */
export interface Redactor {
  /** `text` with the token (bare, `Bearer …`, URL- or JSON-escaped) replaced by `[redacted]`. */
  text(text: string): string;
  /** A parsed JSON value with every string (keys included) redacted; the same value when clean. */
  value<T>(value: T): T;
}

export const REDACTED = "[redacted]";

/** Tokens shorter than this are not credentials worth hiding, and would mangle ordinary text. */
const MIN_TOKEN_CHARS = 4;

const identity: Redactor = { text: (t) => t, value: (v) => v };

export function redactor(token: string | undefined): Redactor {
  if (token === undefined || token.length < MIN_TOKEN_CHARS) return identity;
  // Longest first, so `Bearer <token>` goes as one piece rather than leaving `Bearer `.
  const forms = [
    ...new Set([`Bearer ${token}`, token, encodeURIComponent(token), JSON.stringify(token).slice(1, -1)]),
  ].sort((a, b) => b.length - a.length);
  const text = (input: string): string => {
    let out = input;
    for (const form of forms) if (out.includes(form)) out = out.replaceAll(form, REDACTED);
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return text(value);
    if (Array.isArray(value)) {
      let changed = false;
      const next = value.map((v) => {
        const r = walk(v);
        changed ||= r !== v;
        return r;
      });
      return changed ? next : value;
    }
    if (value !== null && typeof value === "object") {
      let changed = false;
      const next: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const rk = text(k);
        const rv = walk(v);
        changed ||= rk !== k || rv !== v;
        next[rk] = rv;
      }
      return changed ? next : value;
    }
    return value;
  };
  return { text, value: <T>(v: T) => walk(v) as T };
}
