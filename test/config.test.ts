import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

const load = (env: Record<string, string>, argv: string[] = []) =>
  loadConfig(env, argv, () => "/default/state");

describe("configuration", () => {
  it("defaults to the local inbox with no account at all", () => {
    const { command, config } = load({});
    expect(command).toBe("serve");
    expect(config).toMatchObject({
      source: "local",
      stateDir: "/default/state",
      smtpPort: 2525,
      httpPort: 2580,
    });
  });

  it("lets a flag win over its environment variable", () => {
    const { config } = load({ MAIL_EVENTS_SOURCE: "local", MAIL_EVENTS_HTTP_PORT: "3000" }, [
      "--source",
      "inboxbase",
      "--url",
      "https://api.example.test/",
      "--http-port=4000",
    ]);
    expect(config).toMatchObject({ source: "inboxbase", url: "https://api.example.test", httpPort: 4000 });
  });

  it("reads the command, its identity and its own flags", () => {
    const { command, positionals, options } = load({}, [
      "wait",
      "me@x.test",
      "--timeout",
      "30",
      "--subject",
      "code",
    ]);
    expect(command).toBe("wait");
    expect(positionals).toEqual(["me@x.test"]);
    expect(options).toMatchObject({ timeout: "30", subject: "code" });
  });

  it("never echoes the token in an error", () => {
    expect(() => load({ MAIL_EVENTS_SOURCE: "mails", MAIL_EVENTS_TOKEN: "s3cret" })).toThrow(
      /MAIL_EVENTS_URL/,
    );
    try {
      load({ MAIL_EVENTS_SOURCE: "mails", MAIL_EVENTS_TOKEN: "s3cret" });
    } catch (error) {
      expect(String(error)).not.toContain("s3cret");
    }
  });

  it("names an unknown flag and points at --help", () => {
    expect(() => load({}, ["--colour"])).toThrow(/--colour.*--help/);
  });

  it.each([
    [{ MAIL_EVENTS_HTTP_PORT: "abc" }, /^MAIL_EVENTS_HTTP_PORT \(--http-port\) must be a port number/],
    [{ MAIL_EVENTS_HTTP_PORT: "1.5" }, /^MAIL_EVENTS_HTTP_PORT \(--http-port\) must be a whole number/],
    [{ MAIL_EVENTS_IDENTITY: "   " }, /^MAIL_EVENTS_IDENTITY \(--identity\) must not be empty/],
    [
      { MAIL_EVENTS_SOURCE: "molted", MAIL_EVENTS_URL: "not a url" },
      /^MAIL_EVENTS_URL \(--url\) must be an http/,
    ],
  ])("rejects %j naming the variable", (env, message) => {
    expect(() => load(env)).toThrow(message);
  });
});
