import { MailEventsError } from "../errors.js";
import { parseTypes } from "../mail/event.js";
import type { SourceKind } from "./source.js";

const INBOXBASE_TYPES = [
  "email.received",
  "email.sent",
  "email.replied",
  "email.no_reply",
  "email.bounced",
  "email.send_failed_permanently",
  "mailbox.replaced",
] as const;

/**
 * The event types each source documents (SPEC §1), `prefix.*` where the vendor documents a
 * family. A filter may name these or `prefix.*` wildcards of them; anything else is a typo
 * that would silently match nothing.
 */
export const EVENT_TYPES: Readonly<Record<SourceKind, readonly string[]>> = {
  local: INBOXBASE_TYPES,
  inboxbase: INBOXBASE_TYPES,
  mails: ["message.received", "message.sent", "message.delivered", "message.bounced", "message.complained"],
  molted: [
    "delivery.*",
    "inbound.classified",
    "inbound.routed",
    "journey.*",
    "policy.blocked",
    "send.*",
    "followup.*",
    "coordination.*",
  ],
};

const prefixOf = (type: string): string | undefined => (type.endsWith("*") ? type.slice(0, -1) : undefined);

/** True when `wanted` (a type or a `prefix.*` wildcard) can match something `kind` documents. */
function known(wanted: string, documented: readonly string[]): boolean {
  const wantedPrefix = prefixOf(wanted);
  return documented.some((type) => {
    const family = prefixOf(type);
    if (wantedPrefix === undefined) return family === undefined ? type === wanted : wanted.startsWith(family);
    // `delivery.*` against `delivery.*`, `email.*` against `email.received`, `delivery.b*` against `delivery.*`.
    return family === undefined
      ? type.startsWith(wantedPrefix)
      : family.startsWith(wantedPrefix) || wantedPrefix.startsWith(family);
  });
}

/**
 * A `types` filter (array or CSV) as a clean list, or INVALID_INPUT naming the unknown types
 * and listing the source's own: a misspelled type must never silently skip events.
 */
export function validateTypes(kind: SourceKind, types: string | readonly string[] | undefined): string[] {
  const list = parseTypes(types);
  const documented = EVENT_TYPES[kind];
  const unknown = list.filter((t) => !known(t, documented));
  if (unknown.length > 0) {
    throw new MailEventsError(
      "INVALID_INPUT",
      `unknown event type${unknown.length > 1 ? "s" : ""} ${unknown.map((t) => JSON.stringify(t)).join(", ")} for the ${kind} source; use one of ${documented.join(", ")} (or a prefix.* wildcard of them)`,
    );
  }
  return list.sort();
}

/**
 * The filter as a vendor that knows no wildcards can take it: each `prefix.*` becomes the
 * documented types it covers (a documented family, like molted's `delivery.*`, stays).
 */
export function expandTypes(kind: SourceKind, types: readonly string[]): string[] {
  const documented = EVENT_TYPES[kind];
  const out = new Set<string>();
  for (const type of types) {
    const prefix = prefixOf(type);
    if (prefix === undefined) out.add(type);
    else for (const t of documented) if (t.startsWith(prefix)) out.add(t);
  }
  return [...out];
}
