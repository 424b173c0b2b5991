import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, STACK_FRAME, startCli, until } from "./helpers/cli-run.js";
import { sendWithPython } from "./helpers/smtp-client.js";
import { requireDist, startTestInbox, type TestInbox, tempDir } from "./helpers/smtp-inbox.js";

let t: TestInbox;
let cliState: string;
let env: Record<string, string>;

beforeAll(async () => {
  requireDist();
  t = await startTestInbox();
  cliState = await tempDir();
  // The CLI finds the test inbox running on these ports and reads it.
  env = {
    MAIL_EVENTS_STATE_DIR: cliState,
    MAIL_EVENTS_SMTP_PORT: String(t.inbox.smtpPort),
    MAIL_EVENTS_HTTP_PORT: new URL(t.inbox.httpUrl).port,
  };
});
afterAll(async () => {
  await t.close(true);
  await rm(cliState, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, env);
const send = (to: string, subject: string, body: string) =>
  sendWithPython(t.inbox.smtpPort, {
    from: "ci@example.com",
    to: [to],
    raw: `From: CI <ci@example.com>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n`,
  });
const json = <T>(stdout: string) => JSON.parse(stdout) as T;

/** One line on stderr in the `[CODE] what happened; what to do` form, and no stack trace. */
function oneErrorLine(stderr: string, code: string): string {
  // The tool verbs may first say which inbox they use (an info line); the error is one line.
  const lines = stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("mail-events-mcp: local inbox:"));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^mail-events-mcp: \\[${code}\\] .+[;:] .+`));
  expect(stderr).not.toMatch(STACK_FRAME);
  return lines[0] as string;
}

describe("each verb's --help", () => {
  it("wait --help lists wait's own flags, --to and --after among them, and not pull's", async () => {
    const { code, stdout } = await cli(["wait", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: mail-events-mcp wait \[identity\]/);
    for (const flag of [
      "--from",
      "--to",
      "--subject",
      "--contains",
      "--after",
      "--timeout SECONDS",
      "--max-age",
    ])
      expect(stdout).toContain(flag);
    expect(stdout).not.toContain("--group");
    expect(stdout).not.toContain("--limit");
  });

  it("pull --help (and `help pull`) list --types, --group and a --timeout in milliseconds", async () => {
    for (const args of [
      ["pull", "--help"],
      ["help", "pull"],
      ["pull", "-h", "--bogus"],
    ]) {
      const { code, stdout } = await cli(args);
      expect(code, args.join(" ")).toBe(0);
      expect(stdout).toMatch(/Usage: mail-events-mcp pull/);
      for (const flag of ["--since", "--types", "--limit", "--timeout MS", "--no-commit", "--group"])
        expect(stdout).toContain(flag);
      expect(stdout).not.toContain("--from");
    }
  });

  it("cursor --help and set-cursor --help show --types and set-cursor's <cursor> argument", async () => {
    const cursor = await cli(["cursor", "--help"]);
    expect(cursor.stdout).toMatch(/Usage: mail-events-mcp cursor \[identity\]/);
    expect(cursor.stdout).toContain("--types");
    const set = await cli(["set-cursor", "--help"]);
    expect(set.stdout).toMatch(/Usage: mail-events-mcp set-cursor \[identity\] <cursor>/);
    expect(set.stdout).toContain("--types");
  });

  it("the general --help names every verb and says how to get one verb's help", async () => {
    const { stdout } = await cli(["--help"]);
    for (const verb of ["serve", "inbox", "wait", "pull", "cursor", "set-cursor"])
      expect(stdout).toContain(verb);
    expect(stdout).toContain("<command> --help");
  });
});

describe("refused command lines say which flag or argument, in one line", () => {
  it("an unknown verb lists the verbs, exits 2, no stack trace", async () => {
    const { code, stdout, stderr } = await cli(["frobnicate"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(oneErrorLine(stderr, "CONFIG_INVALID")).toMatch(/unknown command "frobnicate".*set-cursor/);
  });

  it("extra positional arguments are refused, naming the extra one", async () => {
    const wait = await cli(["wait", "a@example.com", "b@example.com"]);
    expect(wait.code).toBe(2);
    expect(oneErrorLine(wait.stderr, "CONFIG_INVALID")).toMatch(
      /`wait` takes only \[identity\], got extra "b@example.com"/,
    );
    const set = await cli(["set-cursor", "a@example.com", "1", "2"]);
    expect(set.code).toBe(2);
    expect(oneErrorLine(set.stderr, "CONFIG_INVALID")).toMatch(/got extra "2"/);
    const missing = await cli(["set-cursor"]);
    expect(oneErrorLine(missing.stderr, "CONFIG_INVALID")).toMatch(
      /missing an argument: mail-events-mcp set-cursor \[identity\] <cursor>/,
    );
  });

  it("a flag of another verb, or an unknown flag, is named with the verb's own flags", async () => {
    const other = await cli(["cursor", "x@example.com", "--timeout", "3"]);
    expect(other.code).toBe(2);
    expect(oneErrorLine(other.stderr, "CONFIG_INVALID")).toMatch(
      /--timeout is not a flag of `cursor` \(its flags are --types\)/,
    );
    const unknown = await cli(["wait", "--frm", "x"]);
    expect(oneErrorLine(unknown.stderr, "CONFIG_INVALID")).toMatch(
      /unknown flag --frm for `wait` \(its flags are --from/,
    );
  });

  it("bad values name the flag (--timeout), not the tool parameter (timeoutSeconds)", async () => {
    const nan = await cli(["wait", "x@example.com", "--timeout", "soon"]);
    expect(nan.code).toBe(2);
    expect(oneErrorLine(nan.stderr, "INVALID_INPUT")).toMatch(
      /--timeout must be a number of seconds, got "soon"/,
    );
    const big = await cli(["wait", "x@example.com", "--timeout", "900"]);
    const line = oneErrorLine(big.stderr, "INVALID_INPUT");
    expect(line).toMatch(/--timeout: .*600.*\(got 900\); see mail-events-mcp wait --help/);
    expect(line).not.toContain("timeoutSeconds");
    const limit = await cli(["pull", "x@example.com", "--limit", "0"]);
    expect(oneErrorLine(limit.stderr, "INVALID_INPUT")).toMatch(/--limit: /);
    // A rule the tool itself enforces comes back in flag words too.
    const group = await cli(["pull", "x@example.com", "--group", "g1", "--since", "0"]);
    const groupLine = oneErrorLine(group.stderr, "INVALID_INPUT");
    expect(groupLine).toMatch(/--group .*leave out --since and --no-commit/);
  });
});

describe("Ctrl-C and SIGTERM during wait", () => {
  for (const [signal, exit] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    it(`${signal} ends a parked wait with one [ABORTED] line and exit ${exit}, no stack trace`, async () => {
      const run = startCli(["wait", `${signal.toLowerCase()}@example.com`, "--timeout", "60"], env);
      await until(
        async () => ((await t.get("/v1/health")).json.waiting as number) > 0,
        10_000,
        "the wait to park",
      );
      run.child.kill(signal);
      const { code, stdout, stderr } = await run.exited;
      expect(code).toBe(exit);
      expect(stdout).toBe("");
      const lines = stderr.trim().split("\n");
      expect(lines.at(-1)).toMatch(
        new RegExp(`^mail-events-mcp: \\[ABORTED\\] wait stopped by ${signal}; ?|before a result`),
      );
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(stderr).not.toMatch(/INTERNAL|bug/);
    });
  }
});

describe("the verbs against the local inbox", () => {
  it("wait --to picks the recipient, and wait --after returns only mail after that email", async () => {
    await send("team-a@example.com", "for a", "hello a");
    const a = await cli(["wait", "*", "--to", "team-a@example.com", "--timeout", "5"]);
    expect(a.code, a.stderr).toBe(0);
    const first = json<{ email: { id: string; subject: string }; untrusted: string }>(a.stdout);
    expect(first.email.subject).toBe("for a");
    expect(first.untrusted).toMatch(/untrusted/);
    const waiting = runCli(["wait", "*", "--after", first.email.id, "--timeout", "20"], env);
    await until(
      async () => ((await t.get("/v1/health")).json.waiting as number) > 0,
      10_000,
      "the wait to park",
    );
    await send("team-b@example.com", "after a", "hello b");
    const b = await waiting;
    expect(b.code, b.stderr).toBe(0);
    expect(json<{ email: { subject: string } }>(b.stdout).email.subject).toBe("after a");
  });

  it("set-cursor moves the stored cursor back, per --types consumer, and pull replays from there", async () => {
    const who = "replay@example.com";
    for (let i = 1; i <= 3; i++) await send(who, `r${i}`, `r${i}`);
    const all = await cli(["pull", who]);
    expect(json<{ events: unknown[] }>(all.stdout).events).toHaveLength(3);
    const typed = await cli(["pull", who, "--types", "email.received"]);
    expect(json<{ events: unknown[]; types: string[] }>(typed.stdout).types).toEqual(["email.received"]);

    const set = await cli(["set-cursor", who, "0", "--types", "email.received"]);
    expect(set.code, set.stderr).toBe(0);
    expect(json<{ cursor: number }>(set.stdout).cursor).toBe(0);
    // Only that consumer moved: the unfiltered one still stands after the third email.
    const typedCursor = json<{ cursor: number }>(
      (await cli(["cursor", who, "--types", "email.received"])).stdout,
    );
    const plainCursor = json<{ cursor: number }>((await cli(["cursor", who])).stdout);
    expect(typedCursor.cursor).toBe(0);
    expect(plainCursor.cursor).toBeGreaterThan(0);
    const again = await cli(["pull", who, "--types", "email.received"]);
    expect(
      json<{ events: { email: { subject: string } }[] }>(again.stdout).events.map((e) => e.email.subject),
    ).toEqual(["r1", "r2", "r3"]);
    expect(json<{ events: unknown[] }>((await cli(["pull", who])).stdout).events).toHaveLength(0);
  });

  it("set-cursor with the cursor alone uses MAIL_EVENTS_IDENTITY", async () => {
    const res = await runCli(["set-cursor", "0"], { ...env, MAIL_EVENTS_IDENTITY: "solo@example.com" });
    expect(res.code, res.stderr).toBe(0);
    expect(json<{ identity: string; cursor: number }>(res.stdout)).toMatchObject({
      identity: "solo@example.com",
      cursor: 0,
    });
  });

  it("pull --group shares the log: the group's next pull continues after the last page", async () => {
    const who = "group@example.com";
    for (let i = 1; i <= 2; i++) await send(who, `g${i}`, `g${i}`);
    const one = await cli(["pull", who, "--group", "workers", "--limit", "1"]);
    expect(one.code, one.stderr).toBe(0);
    const two = await cli(["pull", who, "--group", "workers", "--limit", "1"]);
    const subjects = [one, two].map(
      (r) => json<{ events: { email: { subject: string } }[] }>(r.stdout).events[0]?.email.subject,
    );
    expect(subjects.sort()).toEqual(["g1", "g2"]);
  });
});
