import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import { sendWithNodemailer } from "./helpers/smtp-client.js";
import { DIST_MAIN, requireDist, tempDirsPerFile } from "./helpers/smtp-inbox.js";

beforeAll(() => requireDist());
const dir = tempDirsPerFile();

const mode = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

/** Runs the built CLI under `umask 000`, the most permissive a user can have. */
function underUmask0(args: string[], env: Record<string, string>) {
  return spawn("sh", ["-c", `umask 000; exec "${process.execPath}" "${DIST_MAIN}" ${args.join(" ")}`], {
    env: { PATH: process.env.PATH ?? "", MAIL_EVENTS_SMTP_PORT: "0", MAIL_EVENTS_HTTP_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

describe("the state directory is private whatever the umask", () => {
  it("creates dirs 0700 and files 0600 under umask 000, and makes an older 0755/0644 state private", async () => {
    const stateDir = join(await dir(), "state");
    // What an older version left: a world-readable state dir and log.
    await mkdir(join(stateDir, "inbox"), { recursive: true });
    await chmod(stateDir, 0o755);
    await chmod(join(stateDir, "inbox"), 0o755);
    const header = {
      log: "mail-events-mcp-inbox",
      v: 1,
      epoch: "0123456789",
      created: new Date().toISOString(),
    };
    await writeFile(join(stateDir, "inbox", "events.jsonl"), `${JSON.stringify(header)}\n`, { mode: 0o644 });
    const child = underUmask0(["inbox"], { MAIL_EVENTS_STATE_DIR: stateDir });
    try {
      const [line] = await once(createInterface({ input: child.stdout }), "line");
      const { smtp, http } = JSON.parse(line as string) as { smtp: string; http: string };
      const port = Number(new URL(smtp).port);
      await sendWithNodemailer(port, {
        from: "a@example.com",
        to: ["me@example.com"],
        raw: "Subject: Your code\r\n\r\nYour code is 847293\r\n",
      });
      // A message large enough to go through the spool directory.
      await sendWithNodemailer(port, {
        from: "a@example.com",
        to: ["me@example.com"],
        raw: `Subject: big\r\n\r\n${"x".repeat(76).concat("\r\n").repeat(20_000)}`,
      });
      // The CLI commits a cursor: cursors.json, replaced through a temp file and a rename.
      const cliState = join(stateDir, "cli");
      const pulled = await new Promise<string>((resolve, reject) =>
        execFile(
          "sh",
          ["-c", `umask 000; exec "${process.execPath}" "${DIST_MAIN}" pull me@example.com`],
          {
            timeout: 30_000,
            env: {
              PATH: process.env.PATH ?? "",
              MAIL_EVENTS_STATE_DIR: cliState,
              MAIL_EVENTS_SMTP_PORT: String(port),
              MAIL_EVENTS_HTTP_PORT: new URL(http).port,
            },
          },
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
        ),
      );
      expect(pulled).toMatch(/847293/);
      const inbox = join(stateDir, "inbox");
      expect(await mode(stateDir)).toBe("700");
      expect(await mode(inbox)).toBe("700");
      expect(await mode(join(inbox, "messages"))).toBe("700");
      expect(await mode(join(inbox, "spool"))).toBe("700");
      expect(await mode(join(inbox, "events.jsonl"))).toBe("600");
      expect(await mode(join(inbox, "inbox.lock"))).toBe("600");
      const messages = await readdir(join(inbox, "messages"));
      expect(messages).toHaveLength(2);
      for (const name of messages) expect(await mode(join(inbox, "messages", name))).toBe("600");
      expect(await mode(cliState)).toBe("700");
      expect(await mode(join(cliState, "cursors.json"))).toBe("600");
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit").catch(() => {});
    }
  });
});
