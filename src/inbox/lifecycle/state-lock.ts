import { dirname, join } from "node:path";
import { MailEventsError } from "../../errors.js";
import { type LockHolder, tryLock } from "../../lock/pid-lock.js";
import { defaultProcessProbe, type ProcessProbe } from "../../lock/process-probe.js";
import { makeDirs, stateDirError } from "../../state-dir.js";

export interface StateLock {
  release(): Promise<void>;
}

/**
 * One writer per log. The ports already keep two inboxes on the same ports apart; this
 * catches two inboxes on different ports pointed at one state directory, which would
 * interleave their appends. A lock whose process is gone (kill -9) is taken over at once
 * (`lock/pid-lock.ts`); a live holder is refused at once, naming its ports.
 * `dir` is the inbox's folder inside the state directory, which errors name.
 */
export async function acquireStateLock(
  dir: string,
  ports: { smtpPort: number; httpPort: number },
  probe: ProcessProbe = defaultProcessProbe(),
): Promise<StateLock> {
  try {
    makeDirs(dir);
  } catch (error) {
    throw stateDirError(dirname(dir), error);
  }
  let tried: ReturnType<typeof tryLock>;
  try {
    tried = tryLock(join(dir, "inbox.lock"), {
      probe,
      details: { ...ports, started: new Date().toISOString() },
      // The inbox holds it for its whole run: keep its mtime fresh for other hosts' eyes.
      refresh: true,
      staleMs: 30_000,
    });
  } catch (error) {
    throw stateDirError(dirname(dir), error);
  }
  if (tried.lock === undefined) throw inUse(dir, tried.holder, probe.self.host);
  const { lock } = tried;
  return {
    async release() {
      lock.release();
    },
  };
}

function inUse(dir: string, other: LockHolder | undefined, host: string): MailEventsError {
  const ports =
    typeof other?.smtpPort === "number" && typeof other.httpPort === "number"
      ? ` (SMTP port ${other.smtpPort}, HTTP port ${other.httpPort})`
      : "";
  const who =
    other === undefined
      ? "another process"
      : `process ${other.pid}${other.host === host ? "" : ` on host ${other.host}`}`;
  return new MailEventsError(
    "INBOX_STATE_LOCKED",
    `the local inbox log in ${dir} is already in use by ${who}${ports}; use that inbox by setting MAIL_EVENTS_SMTP_PORT and MAIL_EVENTS_HTTP_PORT to its ports, or set MAIL_EVENTS_STATE_DIR to another directory`,
  );
}
