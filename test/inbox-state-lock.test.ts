import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { processProbe } from "../src/lock/process-probe.js";
import { runCli } from "./helpers/cli-run.js";
import { requireDist, spawnInbox, tempDirsPerFile } from "./helpers/smtp-inbox.js";

beforeAll(() => requireDist());
const dir = tempDirsPerFile();

const lockOf = (stateDir: string) =>
  JSON.parse(readFileSync(join(stateDir, "inbox", "inbox.lock"), "utf8")) as {
    pid: number;
    smtpPort: number;
  };

/** Runs `mail-events-mcp inbox` to its exit (a refused start); resolves with its exit code and stderr. */
const inboxRunToExit = (stateDir: string) =>
  runCli(["inbox"], {
    MAIL_EVENTS_STATE_DIR: stateDir,
    MAIL_EVENTS_SMTP_PORT: "0",
    MAIL_EVENTS_HTTP_PORT: "0",
  });

describe("the inbox's state lock", () => {
  it("an inbox killed with SIGKILL and started again on the same state directory starts at once", async () => {
    const stateDir = await dir();
    const first = await spawnInbox(stateDir);
    expect(lockOf(stateDir).pid).toBe(first.child.pid);
    first.child.kill("SIGKILL");
    await once(first.child, "exit");
    // The dead inbox's lock is still there: nobody removed it.
    expect(lockOf(stateDir).pid).toBe(first.child.pid);

    const second = await spawnInbox(stateDir);
    try {
      expect(lockOf(stateDir).pid).toBe(second.child.pid);
      expect(second.stderr()).not.toMatch(/INBOX_STATE_LOCKED/);
      const health = await fetch(`${second.httpUrl}/v1/health`);
      expect(health.status).toBe(200);
    } finally {
      second.child.kill("SIGTERM");
      await once(second.child, "exit");
    }
  }, 60_000);

  it("a second inbox on other ports is refused at once, naming the running one's pid and ports", async () => {
    const stateDir = await dir();
    const first = await spawnInbox(stateDir);
    try {
      const { code, stderr } = await inboxRunToExit(stateDir);
      expect(code).toBe(2);
      expect(stderr).toMatch(
        new RegExp(
          `\\[INBOX_STATE_LOCKED\\] the local inbox log in .* is already in use by process ${first.child.pid} \\(SMTP port ${first.smtpPort}, HTTP port \\d+\\).*MAIL_EVENTS_STATE_DIR`,
        ),
      );
    } finally {
      first.child.kill("SIGTERM");
      await once(first.child, "exit");
    }
  }, 60_000);

  it("starts over a lock whose pid now belongs to another process, and over 0.1.0's lock of a dead pid", async () => {
    const stateDir = await dir();
    const lock = join(stateDir, "inbox", "inbox.lock");
    const first = await spawnInbox(stateDir);
    first.child.kill("SIGTERM");
    await once(first.child, "exit");
    const { self } = processProbe(process);
    // pid 1 runs, but with another start marker than the process that wrote this lock.
    if (self.start !== null) {
      writeFileSync(lock, JSON.stringify({ ...self, pid: 1, start: `${self.start}0`, acquiredAt: "then" }));
      const recycled = await spawnInbox(stateDir);
      expect(lockOf(stateDir).pid).toBe(recycled.child.pid);
      recycled.child.kill("SIGTERM");
      await once(recycled.child, "exit");
    }
    // 0.1.0 wrote a pid and ports only; pid_max + 1 is no process's pid.
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    writeFileSync(lock, JSON.stringify({ pid: pidMax + 1, smtpPort: 1, httpPort: 2, started: "then" }));
    const again = await spawnInbox(stateDir);
    try {
      expect(lockOf(stateDir).pid).toBe(again.child.pid);
    } finally {
      again.child.kill("SIGTERM");
      await once(again.child, "exit");
    }
  }, 60_000);
});
