/** http(s) links, verification-looking ones first. A first cut; see test/links.test.ts. */
const URL_RE = /https?:\/\/[^\s<>"')\]]+/g;
const GOOD = /(verif|confirm|magic|sign[-_]?in|login|auth|token|activate|reset)/i;
const BAD = /(unsubscribe|privacy|terms|facebook|twitter|linkedin|instagram|help|support)/i;

export function extractLinks(parts: { text?: string | undefined; html?: string | undefined }): string[] {
  const all = new Set<string>();
  for (const source of [parts.html, parts.text]) {
    for (const m of source?.matchAll(URL_RE) ?? [])
      all.add(m[0].replace(/&amp;/g, "&").replace(/[.,;]+$/, ""));
  }
  const links = [...all].filter((u) => !BAD.test(u));
  return [...links.filter((u) => GOOD.test(u)), ...links.filter((u) => !GOOD.test(u))];
}
