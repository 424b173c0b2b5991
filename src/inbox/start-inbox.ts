import { join } from "node:path";
import { VERSION } from "../version.js";
import { EventLog } from "./event-log.js";
import { probeHealth } from "./health.js";
import { type InboxHttp, startInboxHttp } from "./http-server.js";
import type { InboxOptions, RunningInbox } from "./index.js";
import { parseMessage } from "./parse-message.js";
import { PortInUseError, portError } from "./port-error.js";
import { type SmtpSink, startSmtpSink } from "./smtp-sink.js";
import { acquireStateLock, type StateLock } from "./state-lock.js";

const DEFAULT_HOST = "127.0.0.1";

/** Says so when the program on our HTTP port is itself a running inbox. */
async function explainHttpConflict(error: PortInUseError, host: string): Promise<never> {
  const probe = await probeHealth(host, error.port, 2_000);
  if (probe.kind !== "inbox") throw error;
  const { pid, smtpPort } = probe.health;
  throw new PortInUseError(
    "http",
    error.port,
    `a mail-events-mcp inbox (process ${pid}, SMTP port ${smtpPort}) is already running there — use it as is`,
    error,
  );
}

/**
 * Starts the local inbox in this process: HTTP and SMTP listeners on loopback first (the
 * ports are what keeps two inboxes apart, and HTTP first lets a second process find us),
 * then the state lock and the log. Requests that arrive meanwhile wait for the log.
 */
export async function startInbox(options: InboxOptions): Promise<RunningInbox> {
  const host = options.host ?? DEFAULT_HOST;
  const dir = join(options.stateDir, "inbox");
  let opened!: (value: { eventLog: EventLog; smtpPort: number }) => void;
  let failed!: (error: Error) => void;
  const ready = new Promise<{ eventLog: EventLog; smtpPort: number }>((resolve, reject) => {
    opened = resolve;
    failed = reject;
  });
  ready.catch(() => {});
  let http: InboxHttp | undefined;
  let smtp: SmtpSink | undefined;
  let lock: StateLock | undefined;
  let eventLog: EventLog | undefined;
  try {
    http = await startInboxHttp({
      host,
      port: options.httpPort,
      token: options.token,
      log: options.log,
      version: VERSION,
      ready,
      mailsWindowMs: options.mailsWindowMs ?? 25_000,
      mailsKeepaliveMs: options.mailsKeepaliveMs ?? 2_000,
      moltedKeepaliveMs: options.moltedKeepaliveMs ?? 15_000,
    }).catch((error: unknown) => portError("http", options.httpPort, error));
    const log = (): EventLog => eventLog as EventLog; // set below, before any mail can arrive
    smtp = await startSmtpSink({
      host,
      port: options.smtpPort,
      maxMessageBytes: options.maxMessageBytes ?? 10 * 1024 * 1024,
      maxRecipients: options.maxRecipients ?? 100,
      log: options.log,
      deliver: async (raw, envelope) => {
        await ready;
        const data = await parseMessage(raw, envelope).catch((error: Error) => {
          throw Object.assign(new Error(`the message could not be parsed: ${error.message}`), {
            responseCode: 554,
          });
        });
        // One event per distinct recipient, and `*`, which sees every mail.
        const ids = [...new Set(envelope.rcptTo.map((a) => a.toLowerCase())), "*"];
        const record = await log().append({ type: "email.received", ids, from: data.fromAddress, data });
        return `OK: stored as ${record.id}`;
      },
    }).catch((error: unknown) => portError("smtp", options.smtpPort, error));
    lock = await acquireStateLock(dir, { smtpPort: smtp.port, httpPort: http.port });
    eventLog = await EventLog.open({
      dir,
      log: options.log,
      ...(options.retention === undefined ? {} : { retention: options.retention }),
      ...(options.compactMinBytes === undefined ? {} : { compactMinBytes: options.compactMinBytes }),
    });
    opened({ eventLog, smtpPort: smtp.port });
  } catch (error) {
    failed(error as Error);
    await Promise.allSettled([http?.close(), smtp?.close()]);
    await eventLog?.close();
    await lock?.release();
    if (error instanceof PortInUseError && error.which === "http") await explainHttpConflict(error, host);
    throw error;
  }
  const running = { http, smtp, lock, eventLog };
  let closing: Promise<void> | undefined;
  return {
    smtpPort: smtp.port,
    httpUrl: `http://${host}:${http.port}`,
    owned: true,
    close() {
      // SMTP first: no new mail; then the log flushes what it accepted; then readers go.
      closing ??= (async () => {
        await running.smtp.close();
        await running.eventLog.close();
        await running.http.close();
        await running.lock.release();
      })();
      return closing;
    },
  };
}
