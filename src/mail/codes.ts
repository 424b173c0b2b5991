/** Digits (4–10) near a code keyword. A first cut; see test/codes.test.ts for what it must find. */
const KEYWORD =
  /(code|verification|verify|otp|pin|passcode|one[- ]time|验证码|認証コード|인증 코드|código|codigo|bestätigungscode|код)/i;
const CANDIDATE = /(?<![\w-])([A-Z0-9]{2,5}[- ]?[A-Z0-9]{2,5})(?![\w-])/g;

export function extractCodes(parts: { subject?: string | undefined; text?: string | undefined }): string[] {
  const found = new Set<string>();
  for (const source of [parts.subject, parts.text]) {
    if (!source) continue;
    for (const line of source.split(/\n/)) {
      if (!KEYWORD.test(line)) continue;
      for (const m of line.matchAll(CANDIDATE)) {
        const raw = m[1] ?? "";
        const compact = raw.replace(/[- ]/g, "");
        if (compact.length >= 4 && compact.length <= 10 && /\d/.test(compact)) found.add(raw);
      }
    }
  }
  return [...found];
}
