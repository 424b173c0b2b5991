import { describe, expect, it } from "vitest";
import { MailEventsError } from "../src/errors.js";
import type { EmailFields, NormalizedEvent } from "../src/mail/event.js";
import { compileFilter, MAX_REGEX_INPUT_CHARS } from "../src/mail/match.js";

const event = (email: EmailFields): NormalizedEvent => ({
  id: "evt_1",
  type: "email.received",
  identity: "agent@local.test",
  ts: 0,
  receivedAt: "",
  email,
  data: {},
});
const from = '"OctoHub" <noreply@octohub.example>';

describe("wait filters", () => {
  it("matches the sender by address or by display name, case-insensitively", () => {
    expect(compileFilter({ from: "noreply@octohub.example" })(event({ from }))).toBe(true);
    expect(compileFilter({ from: "octohub" })(event({ from }))).toBe(true);
    expect(compileFilter({ from: "OctoHub <noreply@octohub.example>" })(event({ from }))).toBe(true);
    expect(compileFilter({ from: "/^octohub$/i" })(event({ from }))).toBe(true);
    expect(compileFilter({ from: "giggle" })(event({ from }))).toBe(false);
  });

  it("matches the subject by substring or /regex/flags", () => {
    const e = event({ subject: "Your Acme verification code" });
    expect(compileFilter({ subject: "VERIFICATION" })(e)).toBe(true);
    expect(compileFilter({ subject: "/acme .* code$/i" })(e)).toBe(true);
    expect(compileFilter({ subject: "/ACME/" })(e)).toBe(false);
  });

  it("matches body text, and HTML as its visible text rather than its markup", () => {
    const e = event({ html: '<div style="color:#123456">Welcome <b>aboard</b></div>' });
    expect(compileFilter({ contains: "welcome aboard" })(e)).toBe(true);
    expect(compileFilter({ contains: "color" })(e)).toBe(false);
    expect(compileFilter({ contains: "aboard" })(event({ text: "all aboard" }))).toBe(true);
  });

  it("matches any recipient by substring or /regex/", () => {
    const e = event({ to: ["ann@x.test", "me+run42@example.com"] });
    expect(compileFilter({ to: "run42" })(e)).toBe(true);
    expect(compileFilter({ to: "/^me\\+run\\d+@example\\.com$/" })(e)).toBe(true);
    expect(compileFilter({ to: "bob@" })(e)).toBe(false);
  });

  it("needs every given filter to match", () => {
    const e = event({ from, subject: "Code", text: "hello" });
    expect(compileFilter({ from: "octohub", subject: "code", contains: "hello" })(e)).toBe(true);
    expect(compileFilter({ from: "octohub", subject: "code", contains: "bye" })(e)).toBe(false);
  });

  it("rejects a bad regex with a clear INVALID_INPUT error naming the field", () => {
    let error: unknown;
    try {
      compileFilter({ subject: "/(unclosed/" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MailEventsError);
    expect((error as MailEventsError).code).toBe("INVALID_INPUT");
    expect((error as MailEventsError).message).toMatch(/^subject is not a valid regular expression/);
  });

  it("treats slashes without valid flags as a plain substring", () => {
    expect(compileFilter({ subject: "/r/rust" })(event({ subject: "New in /r/rust today" }))).toBe(true);
  });

  it("gives the same answer on every call even with the g flag", () => {
    const m = compileFilter({ subject: "/code/g" });
    const e = event({ subject: "code" });
    expect([m(e), m(e), m(e)]).toEqual([true, true, true]);
  });

  it("runs a regex on a bounded prefix of a huge body", () => {
    const huge = event({ text: `${"x".repeat(MAX_REGEX_INPUT_CHARS)}tail` });
    const m = compileFilter({ contains: "/tail$/" });
    expect(m(huge)).toBe(false);
    expect(m(event({ text: "short tail" }))).toBe(true);
    expect(compileFilter({ contains: "tail" })(huge)).toBe(true);
  });
});
