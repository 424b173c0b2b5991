import { describe, expect, it } from "vitest";
import { MAX_LINKS } from "../src/mail/links.js";
import { digestOf } from "./helpers/digest-of.js";

const extractLinks = (email: { text?: string; html?: string }) => digestOf(email).links;

const a = (href: string, text: string) => `<a href="${href}">${text}</a>`;

describe("links", () => {
  it("keeps the verification link and leaves out links that do not act on the account", () => {
    const html = [
      a("https://example.com/blog/post-1", "Read our blog"),
      a("https://example.com/e/8f3a2c", "Verify email address"),
    ].join(" ");
    expect(extractLinks({ html })).toEqual(["https://example.com/e/8f3a2c"]);
  });

  it("returns no link for a receipt or a newsletter", () => {
    const receipt = [
      a("https://shop.example/orders/4471", "View order"),
      a("https://shop.example/orders/4471/track", "Track package"),
      a("https://shop.example/returns", "Start a return"),
      a("https://shop.example/deals", "Shop today's deals"),
    ].join(" ");
    expect(extractLinks({ html: receipt })).toEqual([]);
    const newsletter = [
      a("https://news.example/2026/01/ai-weekly?utm_source=email&t=8f3a2c9d1e", "Read more"),
      a("https://news.example/authors/jane", "Jane Doe"),
      a("https://click.news.example/ls/click?upn=Zm9vYmFy", "Top story: markets rally"),
      a("https://news.example/unsubscribe?u=1", "Unsubscribe"),
    ].join(" ");
    expect(extractLinks({ html: newsletter })).toEqual([]);
    expect(
      extractLinks({ text: "This week: https://news.example/issue/42 and https://news.example/jobs" }),
    ).toEqual([]);
  });

  it("ranks by URL words when the anchor text says nothing", () => {
    const html = [
      a("https://example.com/pricing", "here"),
      a("https://example.com/auth/magic?token=abcdef123", "here"),
    ];
    expect(extractLinks({ html: html.join(" ") })[0]).toBe("https://example.com/auth/magic?token=abcdef123");
  });

  it("drops unsubscribe, policy, help, social, app-store, home-page and tracking-pixel links", () => {
    const html = [
      a("https://example.com/confirm?t=123456", "Confirm"),
      a("https://click.example.com/ls/click?upn=zz", "Unsubscribe"),
      a("https://example.com/legal/privacy", "Privacy Policy"),
      a("https://example.com/terms", "Terms"),
      a("https://help.example.com/", "Help Center"),
      a("https://twitter.com/example", "<img src=x alt=Twitter>"),
      a("https://apps.apple.com/app/id1", "<img src=x alt='Download on the App Store'>"),
      a("https://example.com/", "<img src=logo.png alt=Example>"),
      a("https://t.example.com/o/123", '<img src="https://t.example.com/p.gif" width="1" height="1">'),
    ].join(" ");
    expect(extractLinks({ html })).toEqual(["https://example.com/confirm?t=123456"]);
  });

  it("keeps a click-tracking link as it is when its target is hidden", () => {
    const tracked = "https://click.example.com/ls/click?upn=AbC-2Fdef";
    expect(extractLinks({ html: a(tracked, "Verify my email") })).toEqual([tracked]);
  });

  it("unwraps a click-tracking link whose target is visible in the query", () => {
    const tracked =
      "https://links.mail.example.com/r?url=https%3A%2F%2Fapp.example.com%2Fverify%3Ftoken%3Dabc123&src=e";
    expect(extractLinks({ html: a(tracked, "Verify") })).toEqual([
      "https://app.example.com/verify?token=abc123",
    ]);
  });

  it("does not unwrap a sign-in link's own redirect parameter", () => {
    const login = "https://app.example.com/login?token=abc123&redirect=https%3A%2F%2Fapp.example.com%2Fhome";
    expect(extractLinks({ html: a(login, "Sign in") })).toEqual([login]);
  });

  it("finds bare URLs in plain text, without the sentence's punctuation", () => {
    const text =
      "Confirm your account:\nhttps://example.com/confirm?token=abc123.\n(Or see https://example.com/docs/start).";
    expect(extractLinks({ text })).toEqual(["https://example.com/confirm?token=abc123"]);
  });

  it("reads &amp; in hrefs as &", () => {
    expect(extractLinks({ html: a("https://example.com/verify?a=1&amp;b=2", "Verify") })).toEqual([
      "https://example.com/verify?a=1&b=2",
    ]);
  });

  it("ranks a 'not you? reset your password' link below the sign-in link", () => {
    const html = [
      a("https://example.com/account/reset?src=alert", "Not you? Reset your password"),
      a("https://example.com/session/approve?token=abc123", "Yes, it's me: sign in"),
    ].join(" ");
    expect(extractLinks({ html })[0]).toBe("https://example.com/session/approve?token=abc123");
  });

  it("ignores links that are not http(s) and lists at most MAX_LINKS", () => {
    const many = Array.from({ length: 30 }, (_, i) => a(`https://example.com/p/${i}`, `Verify ${i}`)).join(
      " ",
    );
    const html = `${a("mailto:help@example.com", "Write to us")} ${a("javascript:alert(1)", "Verify")} ${many}`;
    const links = extractLinks({ html });
    expect(links).toHaveLength(MAX_LINKS);
    expect(links.every((l) => l.startsWith("https://example.com/p/"))).toBe(true);
  });

  it("returns each URL once however often it appears", () => {
    const url = "https://example.com/verify?token=abc123";
    expect(extractLinks({ html: `${a(url, "Verify")} ${a(url, "Verify")}`, text: `Verify: ${url}` })).toEqual(
      [url],
    );
  });
});
