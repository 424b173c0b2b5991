import { open, readFile, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { MailEventsError } from "../../errors.js";
import { makeDirs, stateDirError } from "../../state-dir.js";

export interface StateLock {
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  smtpPort: number;
  httpPort: number;
  started: string;
}

/** Directories locked by this process (a second inbox in-process must not share a log either). */
const held = new Set<string>();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * One writer per log. The ports already keep two inboxes on the same ports apart; this
 * catches two inboxes on different ports pointed at one state directory, which would
 * interleave their appends. A lock whose process is gone (kill -9) is taken over at once.
 * `dir` is the inbox's folder inside the state directory, which errors name.
 */
export async function acquireStateLock(
  dir: string,
  ports: { smtpPort: number; httpPort: number },
): Promise<StateLock> {
  try {
    makeDirs(dir);
  } catch (error) {
    throw stateDirError(dirname(dir), error);
  }
  const path = join(dir, "inbox.lock");
  if (held.has(path)) throw inUse(dir, { pid: process.pid, ...ports, started: "" });
  const info: LockInfo = { pid: process.pid, ...ports, started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw stateDirError(dirname(dir), error);
      if (attempt > 2) throw error;
      let other: LockInfo | undefined;
      try {
        other = JSON.parse(await readFile(path, "utf8")) as LockInfo;
      } catch {
        other = undefined; // half-written or garbage: its writer died mid-write
      }
      if (
        other !== undefined &&
        Number.isInteger(other.pid) &&
        other.pid !== process.pid &&
        alive(other.pid)
      ) {
        throw inUse(dir, other);
      }
      await unlink(path).catch(() => {});
    }
  }
  held.add(path);
  return {
    async release() {
      if (!held.delete(path)) return;
      await unlink(path).catch(() => {});
    },
  };
}

function inUse(dir: string, other: LockInfo): MailEventsError {
  return new MailEventsError(
    "INBOX_STATE_LOCKED",
    `the local inbox log in ${dir} is already in use by process ${other.pid} (SMTP port ${other.smtpPort}, HTTP port ${other.httpPort}); use that inbox by setting MAIL_EVENTS_SMTP_PORT and MAIL_EVENTS_HTTP_PORT to its ports, or set MAIL_EVENTS_STATE_DIR to another directory`,
  );
}
