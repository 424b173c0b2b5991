import type { NormalizedEvent } from "../../src/mail/event.js";
import { loadCorpus } from "./email-corpus.js";
import { seeded } from "./fuzz-seed.js";

// Pieces that stress extraction and trimming: code shapes and their decoys, keywords (also cut
// inside longer words), action verbs, stale and promo words, links, HTML, escapes JSON must
// spell out, multi-byte and astral characters, controls, bidi and fence characters.
const PIECES = [
  "482193",
  "482 193",
  "482-193",
  "K7Q-92X",
  "G-482193",
  "2024",
  "415 555 0132",
  "64GB",
  "12345678901",
  "1,234",
  "99%",
  "$25",
  " ",
  "  ",
  "\n",
  "\n\n",
  "\r\n",
  "\t",
  ".",
  ". ",
  ":",
  ", ",
  "!",
  "code",
  "Code: ",
  "Your verification code is ",
  "verification",
  "barcode ",
  "Bestätigungscode ",
  "código de verificación: ",
  "код подтверждения ",
  "验证码是",
  "認証コード",
  "を入力",
  "PIN ",
  "OTP",
  "order ",
  "Order number ",
  "invoice ",
  "zip code ",
  "Use ",
  "Enter ",
  " to sign in",
  " to continue",
  "It is ",
  "Your previous code ",
  " has expired",
  "new ",
  "promo code SAVE20 ",
  "20% off ",
  "d'accès ",
  "it's ",
  "l’OTP ",
  "May 12",
  "10 minutes",
  "Hello",
  "thanks for shopping with us",
  "https://x.io/verify?t=abc",
  "https://shop.test/track/12345",
  "https://app.test/login/magic?token=Zz9",
  "https://news.test/unsubscribe",
  "<a href='https://x.io/confirm?k=1'>Confirm your email</a>",
  "<b>",
  "</b>",
  "<td style='font-size:32px'>604 118</td>",
  "<div style='display:none'>999111</div>",
  "&amp;",
  '"quoted"',
  "back\\slash",
  "\u0000\u0007\u001b",
  "\u202e",
  "⟦",
  "⟧",
  "é",
  "ß",
  "ΚΩΔΙΚΌΣ",
  "😀",
  "\ud83d",
  "１２３４５６",
  "ﬁ",
];

const RECEIVED = ["email.received", "message.received", "inbound.classified", "email.replied"];
const OTHER = ["delivery.sent", "delivery.bounced", "contact.updated", "unknown"];

/**
 * Events of every shape `eventForOutput` meets — hosted emails (text, HTML, both, neither),
 * local-inbox emails with precomputed codes, non-email payloads with nested and bulky data,
 * fields short and far over every trimming level — deterministic for a seed.
 */
export function variedEvents(count: number, seed = 20261201): NormalizedEvent[] {
  const next = seeded(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const text = (maxPieces: number) => {
    const parts: string[] = [];
    for (let i = int(maxPieces + 1); i > 0; i--) parts.push(pick(PIECES));
    return parts.join("");
  };
  const long = (maxPieces: number) => (next() < 0.15 ? text(maxPieces).repeat(1 + int(60)) : text(maxPieces));
  const corpus = loadCorpus();
  const value = (depth: number): unknown => {
    const r = next();
    if (r < 0.3) return long(6);
    if (r < 0.4) return int(1e6);
    if (r < 0.45) return next() < 0.5;
    if (r < 0.5) return null;
    if (depth > 2) return text(2);
    if (r < 0.75) return Array.from({ length: int(depth === 0 ? 14 : 5) }, () => value(depth + 1));
    const obj: Record<string, unknown> = {};
    for (let i = int(depth === 0 ? 35 : 6); i > 0; i--)
      obj[next() < 0.1 ? long(3) : `k${int(50)}`] = value(depth + 1);
    return obj;
  };
  const events: NormalizedEvent[] = [];
  for (let i = 0; i < count; i++) {
    const ts = 1_700_000_000_000 + int(1e10);
    const base = {
      id: next() < 0.05 ? long(8) : `evt_${i}`,
      ...(next() < 0.7 ? { seq: i + 1 } : {}),
      identity: next() < 0.05 ? long(8) : `u${int(9)}@example.test`,
      ts,
      receivedAt: new Date(ts).toISOString(),
    };
    const kind = next();
    if (kind < 0.2) {
      const data: Record<string, unknown> = {};
      for (let k = int(12); k > 0; k--) data[`f${int(20)}`] = value(0);
      events.push({ ...base, type: pick(OTHER), data });
      continue;
    }
    const fromCorpus = kind < 0.45 ? pick(corpus) : undefined;
    const email: NonNullable<NormalizedEvent["email"]> = {};
    const data: Record<string, unknown> = {};
    const set = <K extends keyof typeof email>(key: K, v: (typeof email)[K], p = 0.8) => {
      if (next() < p) {
        email[key] = v;
        data[key] = v;
      }
    };
    set("from", next() < 0.1 ? long(10) : `Sender ${int(97)} <s${int(97)}@shop.test>`);
    set(
      "to",
      Array.from({ length: next() < 0.1 ? int(80) : 1 + int(3) }, () => `t${int(99)}@x.test`),
    );
    set("subject", fromCorpus?.subject ?? long(8));
    if (fromCorpus?.text !== undefined || fromCorpus?.html !== undefined) {
      if (fromCorpus.text !== undefined) set("text", fromCorpus.text, 1);
      if (fromCorpus.html !== undefined) set("html", fromCorpus.html, 1);
    } else {
      set("text", long(30), 0.85);
      set("html", `<html><body><p>${long(20)}</p>${text(6)}</body></html>`, 0.3);
    }
    set("messageId", next() < 0.1 ? long(10) : `<m${i}@shop.test>`, 0.6);
    set("threadId", `th_${int(1000)}`, 0.2);
    set(
      "labels",
      Array.from({ length: int(15) }, () => text(2)),
      0.2,
    );
    set("hasAttachments", next() < 0.5, 0.2);
    if (next() < 0.25) {
      // The local inbox's shape: codes and links extracted at ingest ride in the payload.
      data.codes = Array.from({ length: int(7) }, () => `${100000 + int(900000)}`);
      data.codesAsShown = (data.codes as string[]).map((c) =>
        next() < 0.5 ? `${c.slice(0, 3)}-${c.slice(3)}` : c,
      );
      data.links = Array.from({ length: int(12) }, () =>
        next() < 0.1 ? `https://x.io/${"a".repeat(700)}` : pick(PIECES),
      );
    }
    if (next() < 0.3)
      data.attachments = Array.from({ length: int(4) }, () => ({ filename: text(2), size: int(1e5) }));
    for (let k = int(6); k > 0; k--)
      data[pick(["headers", "envelope", "raw", `x${int(10)}`, "snippet", "preview"])] = value(0);
    events.push({ ...base, type: pick(RECEIVED), email, data });
  }
  return events;
}
