import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, textOf } from "./helpers/harness.js";

let h: Harness;
afterEach(async () => h?.close());

describe("tool inputs", () => {
  it.each([
    ["wait_for_email", { identity: "a@x.test", timeoutSeconds: 601 }, /timeoutSeconds/],
    ["wait_for_email", { identity: "a@x.test", timeoutSeconds: -1 }, /timeoutSeconds/],
    ["wait_for_email", { identity: "a@x.test", subject: "/(/" }, /subject is not a valid regular expression/],
    ["pull_events", { identity: "a@x.test", limit: 0 }, /limit/],
    ["pull_events", { identity: "a@x.test", limit: 201 }, /limit/],
    ["pull_events", { identity: "a@x.test", timeoutMs: 25_001 }, /timeoutMs/],
    ["pull_events", { identity: "a@x.test", since: -5 }, /since/],
    ["pull_events", { identity: "" }, /identity/],
  ])("%s rejects %j with a clear error", async (tool, args, message) => {
    h = await startHarness();
    h.fake.ensure("a@x.test");
    const result = await h.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it("asks for an identity when none is given and MAIL_EVENTS_IDENTITY is unset", async () => {
    h = await startHarness();
    const result = await h.call("get_cursor", {});
    expect(textOf(result)).toMatch(/^\[IDENTITY_REQUIRED\].*MAIL_EVENTS_IDENTITY/);
  });

  it("uses the default identity when one is configured", async () => {
    h = await startHarness({ deps: { defaultIdentity: "dflt@x.test" } });
    h.fake.email("dflt@x.test", { subject: "hello" });
    const page = await h.ok<{ identity: string; events: unknown[] }>("pull_events", {});
    expect(page.identity).toBe("dflt@x.test");
    expect(page.events).toHaveLength(1);
  });

  it.each(["a/b@x.test", "../../etc/passwd", "100%@x.test", "名前@例え.テスト", "sp ace?&=#@x.test"])(
    "URL-encodes the identity %j and keeps its cursor apart",
    async (identity) => {
      h = await startHarness();
      h.fake.email(identity, { subject: "for you" });
      h.fake.email("other@x.test", { subject: "not for you" });
      const page = await h.ok<{ events: { email?: { subject?: string } }[] }>("pull_events", { identity });
      expect(page.events.map((e) => e.email?.subject)).toEqual(["for you"]);
      expect((await h.ok<{ cursor: number }>("get_cursor", { identity })).cursor).toBe(1);
      expect(
        (await h.ok<{ cursor: number | null }>("get_cursor", { identity: "other@x.test" })).cursor,
      ).toBeNull();
    },
  );
});
