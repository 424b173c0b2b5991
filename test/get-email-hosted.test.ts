import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, textOf } from "./helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("get_email on a hosted source", () => {
  it("reads an email this server has seen in full, hidden HTML kept out of text and codes", async () => {
    h = await startHarness();
    await h.client.listTools(); // so the client checks each result against the tool's outputSchema
    const long = `Welcome aboard. ${"Details follow. ".repeat(5_000)}`;
    h.fake.email("me@x.test", {
      from: "shop@x.test",
      to: ["me@x.test"],
      cc: ["boss@x.test"],
      subject: "Your code",
      text: "",
      html: `<p>Your code is <b>193847</b>.</p><div style="display:none">222333</div><p>${long}</p>`,
      attachments: [{ filename: "a.pdf", contentType: "application/pdf", size: 1234 }],
    });
    const page = await h.ok<{ events: { id: string }[] }>("pull_events", { identity: "me@x.test" });
    const id = page.events[0]?.id as string;
    const { email } = await h.ok<{
      email: {
        identity: string;
        text: string;
        truncated: boolean;
        codes: string[];
        cc: string[];
        attachments: unknown[];
      };
    }>("get_email", { id }); // no identity, and none configured: the id names the email
    expect(email.identity).toBe("me@x.test");
    expect(email.codes).toEqual(["193847"]);
    expect(email.text).not.toContain("222333");
    expect(email.text.length).toBeGreaterThan(60_000);
    expect(email.truncated).toBe(false);
    expect(email.cc).toEqual(["boss@x.test"]);
    expect(email.attachments).toEqual([
      { index: 0, filename: "a.pdf", contentType: "application/pdf", size: 1234 },
    ]);
  });

  it("answers an id it has not seen with a tool error naming the id", async () => {
    h = await startHarness();
    const result = await h.call("get_email", { identity: "me@x.test", id: "evt_never_seen" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[EMAIL_NOT_FOUND\] .*evt_never_seen/);
  });
});
