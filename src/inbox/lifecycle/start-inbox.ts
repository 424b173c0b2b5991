import { join } from "node:path";
import { isMailEventsError, PortInUseError, SmtpReplyError } from "../../errors.js";
import { defaultProcessProbe } from "../../lock/process-probe.js";
import { ensurePrivateDir } from "../../state-dir.js";
import { VERSION } from "../../version.js";
import { type InboxHttp, startInboxHttp } from "../http/http-server.js";
import { type InboxLog, StoreStageError } from "../log/inbox-log.js";
import { isDiskFull } from "../log/log-format.js";
import { openInboxLog } from "../log/open-inbox-log.js";
import { ByteBudget, ByteGate } from "../smtp/byte-budget.js";
import { identitiesOf } from "../smtp/identity-patterns.js";
import { type Envelope, parseMessage } from "../smtp/parse-message.js";
import { type SmtpSink, startSmtpSink } from "../smtp/smtp-sink.js";
import type { Received } from "../smtp/spool.js";
import type { InboxOptions, RunningInbox } from "../types.js";
import { probeHealth } from "./health.js";
import { requireTokenOffLoopback } from "./listen-check.js";
import { portError } from "./port-error.js";
import { acquireStateLock, type StateLock } from "./state-lock.js";

const DEFAULT_HOST = "127.0.0.1";
/** Memory all messages in flight may hold, and one message before it goes to the spool. */
const IN_FLIGHT_BYTES = 32 * 1024 * 1024;
const IN_MEMORY_MESSAGE_BYTES = 1024 * 1024;
/** Raw bytes being parsed at once: parsing costs several times a message's size. */
const PARSE_BYTES = 24 * 1024 * 1024;

/** The SMTP reply for a storage failure: 452 when the disk is full, else 451. */
function storageFailure(error: unknown, what: string): Error {
  const full = isDiskFull(error);
  return new SmtpReplyError(
    full ? 452 : 451,
    full
      ? `the local inbox's disk is full, so the message was not stored (${what})`
      : `the local inbox could not store the message (${what}: ${(error as Error).message})`,
    error,
  );
}

/** The SMTP reply for a mail the log did not store: nothing is acknowledged that is not stored. */
function storeReply(error: unknown): Error {
  if (error instanceof SmtpReplyError) return error;
  if (error instanceof StoreStageError) return storageFailure(error.cause, error.stage);
  // A shared store that did not answer: temporary, and the message names the store.
  if (isMailEventsError(error) && error.code === "STORE_UNAVAILABLE") {
    return new SmtpReplyError(451, error.message, error);
  }
  return storageFailure(error, "writing the log");
}

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
  requireTokenOffLoopback(host, options.token);
  const dir = join(options.stateDir, "inbox");
  await ensurePrivateDir(options.stateDir);
  await ensurePrivateDir(dir);
  const parses = new ByteGate(PARSE_BYTES);
  /**
   * Parses, then has the log store the raw message and the bounded event that points at it:
   * a `250` covers both, a failure answers 4xx/5xx.
   */
  const store = async (eventLog: InboxLog, message: Received, envelope: Envelope): Promise<string> => {
    const data = await parses
      .run(message.size, async () => parseMessage(await message.bytes(), envelope))
      .catch((error: Error) => {
        throw new SmtpReplyError(554, `the message could not be parsed: ${error.message}`, error);
      });
    // One event per distinct recipient, its patterns (`*@domain`, the un-tagged address) and `*`.
    const ids = identitiesOf(envelope.rcptTo);
    try {
      const record = await eventLog.storeMail(
        { type: "email.received", ids, from: data.fromAddress, data: { ...data } },
        message,
      );
      return `OK: stored as ${record.id}`;
    } catch (error) {
      throw storeReply(error);
    }
  };
  let opened!: (value: { eventLog: InboxLog; smtpPort: number }) => void;
  let failed!: (error: Error) => void;
  const ready = new Promise<{ eventLog: InboxLog; smtpPort: number }>((resolve, reject) => {
    opened = resolve;
    failed = reject;
  });
  ready.catch(() => {});
  let http: InboxHttp | undefined;
  let smtp: SmtpSink | undefined;
  let lock: StateLock | undefined;
  let eventLog: InboxLog | undefined;
  try {
    http = await startInboxHttp({
      host,
      port: options.httpPort,
      token: options.token,
      log: options.log,
      version: VERSION,
      pid: defaultProcessProbe().self.pid,
      ready,
      mailsWindowMs: options.mailsWindowMs ?? 25_000,
      mailsKeepaliveMs: options.mailsKeepaliveMs ?? 2_000,
      moltedKeepaliveMs: options.moltedKeepaliveMs ?? 15_000,
    }).catch((error: unknown) => portError("http", options.httpPort, error));
    const log = (): InboxLog => eventLog as InboxLog; // set below, before any mail can arrive
    smtp = await startSmtpSink({
      host,
      port: options.smtpPort,
      maxMessageBytes: options.maxMessageBytes ?? 10 * 1024 * 1024,
      maxRecipients: options.maxRecipients ?? 100,
      log: options.log,
      spoolDir: join(dir, "spool"),
      memory: new ByteBudget(IN_FLIGHT_BYTES),
      memoryPerMessage: IN_MEMORY_MESSAGE_BYTES,
      ...(options.smtpLimits === undefined ? {} : { limits: options.smtpLimits }),
      deliver: async (message, envelope) => {
        try {
          await ready;
          return await store(log(), message, envelope);
        } finally {
          await message.discard();
        }
      },
    }).catch((error: unknown) => portError("smtp", options.smtpPort, error));
    lock = await acquireStateLock(dir, { smtpPort: smtp.port, httpPort: http.port });
    eventLog = await openInboxLog({
      dir,
      log: options.log,
      store: options.store,
      retention: options.retention,
      compactMinBytes: options.compactMinBytes,
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
    rawMessage: (id) => running.eventLog.rawMessage(id),
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
