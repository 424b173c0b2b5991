/**
 * The extra identities one recipient's mail is filed under, so patterns are served by the
 * log index as ordinary identities: `*@domain` (the whole domain) and, for plus-addressing,
 * the base address (`me+run42@d` is also visible to `me@d`). `*` is added once per mail.
 */
export function identitiesOf(recipients: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const raw of recipients) {
    const address = raw.toLowerCase();
    ids.add(address);
    const at = address.lastIndexOf("@");
    if (at <= 0 || at === address.length - 1) continue;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    ids.add(`*@${domain}`);
    const plus = local.indexOf("+");
    if (plus > 0) ids.add(`${local.slice(0, plus)}@${domain}`);
  }
  ids.add("*");
  return [...ids];
}
