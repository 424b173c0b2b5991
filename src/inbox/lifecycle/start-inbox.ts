import { join } from "node:path";
import { PortInUseError, SmtpReplyError } from "../../errors.js";
import { ensurePrivateDir } from "../../state-dir.js";
import { VERSION } from "../../version.js";
import { type InboxHttp, startInboxHttp } from "../http/http-server.js";
import { EventLog } from "../log/event-log.js";
import { isDiskFull } from "../log/log-format.js";
import { newMessageName } from "../log/message-store.js";
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
   * Parses, stores the raw message apart (synced, directory entry too), then appends the
   * bounded event that points at it: a `250` covers both, a failure answers 4xx/5xx.
   */
  const store = async (eventLog: EventLog, message: Received, envelope: Envelope): Promise<string> => {
    const data = await parses
      .run(message.size, async () => parseMessage(await message.bytes(), envelope))
      .catch((error: Error) => {
        throw new SmtpReplyError(554, `the message could not be parsed: ${error.message}`, error);
      });
    const file = newMessageName();
    try {
      if (message.path === undefined) await eventLog.messages.write(file, await message.bytes());
      else await eventLog.messages.adopt(message.path, file);
      await eventLog.messages.syncEntries();
    } catch (error) {
      await eventLog.messages.remove(file);
      throw storageFailure(error, "writing the raw message");
    }
    // One event per distinct recipient, its patterns (`*@domain`, the un-tagged address) and `*`.
    const ids = identitiesOf(envelope.rcptTo);
    const raw = { file, size: message.size, sha256: message.sha256 };
    try {
      const record = await eventLog.append({
        type: "email.received",
        ids,
        from: data.fromAddress,
        data: { ...data, raw },
      });
      return `OK: stored as ${record.id}`;
    } catch (error) {
      await eventLog.messages.remove(file);
      throw error instanceof SmtpReplyError ? error : storageFailure(error, "writing the log");
    }
  };
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
