import type { Socket } from "node:net";
import type { SMTPServer, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { SmtpReplyError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { isDiskFull } from "../log/log-format.js";
import type { ByteBudget } from "./byte-budget.js";
import type { Envelope } from "./parse-message.js";
import { SmtpGuard } from "./smtp-guard.js";
import type { SmtpLimits } from "./smtp-limits.js";
import { IncomingMessage, type Received } from "./spool.js";

export interface SmtpSinkOptions {
  host: string;
  port: number;
  /** Largest message accepted, bytes; above it the client gets a 552. */
  maxMessageBytes: number;
  maxRecipients: number;
  log: Logger;
  /** Where messages that do not stay in memory are written as they arrive. */
  spoolDir: string;
  /** Memory all messages in flight may hold together; the rest goes to the spool. */
  memory: ByteBudget;
  /** A message larger than this goes to the spool whatever the budget. */
  memoryPerMessage: number;
  limits?: Partial<SmtpLimits>;
  /**
   * Stores the message durably; resolves with the reply text for the `250`. Owns `message`
   * from then on (discards it when done). An error's `responseCode` picks the reply.
   */
  deliver(message: Received, envelope: Envelope): Promise<string>;
}

export interface SmtpSink {
  port: number;
  /** Sessions open now (for health and tests). */
  readonly connections: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string): Error => new SmtpReplyError(code, message);

/**
 * An SMTP server that accepts mail for any recipient and relays nothing: every message ends
 * in `deliver`. No AUTH, no STARTTLS (it listens on loopback only). Malformed input gets an
 * SMTP error from smtp-server; nothing a client sends can throw out of here. `SmtpGuard`
 * bounds what each connection holds in time; `IncomingMessage` bounds what it holds in memory.
 */
export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  // `.default` (module.exports) works both unbundled and in dist/'s bundle, whose lazy chunk
  // for this CommonJS package has a default export only.
  const { SMTPServer } = (await import("smtp-server")).default;
  const guard = new SmtpGuard("mail-events-mcp", options.limits);
  const server: SMTPServer = new SMTPServer({
    name: "mail-events-mcp",
    banner: "mail-events-mcp local inbox: accepts mail for any address, relays nothing",
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    size: options.maxMessageBytes,
    logger: false,
    disableReverseLookup: true,
    // The guard counts and caps connections (with room kept for mail), before smtp-server.
    closeTimeout: 1_000,
    socketTimeout: guard.limits.idleMs,
    onMailFrom(_address, session, callback) {
      guard.mail(session);
      callback();
    },
    onRcptTo(address, session, callback) {
      const rcpt = address.address.trim();
      if (rcpt === "" || rcpt.length > 320) {
        return callback(
          smtpError(553, `recipient address ${JSON.stringify(rcpt.slice(0, 40))} is not valid`),
        );
      }
      if (session.envelope.rcptTo.length >= options.maxRecipients) {
        return callback(smtpError(452, `too many recipients: at most ${options.maxRecipients} per message`));
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      guard.data(session);
      const message = new IncomingMessage(
        options.spoolDir,
        options.memory,
        options.memoryPerMessage,
        options.maxMessageBytes,
      );
      let answered = false;
      const answer = (error: Error | null, reply?: string) => {
        if (answered) return;
        answered = true;
        guard.answered(session, error === null);
        callback(error, reply);
      };
      stream.on("data", (chunk: Buffer) => {
        const wait = message.push(chunk);
        // Writing to the spool: hold the client back rather than the bytes in memory.
        if (wait) {
          stream.pause();
          void wait.then(() => stream.resume());
        }
      });
      stream.on("error", (error: Error) => {
        void message.discard();
        answer(smtpError(451, `message transfer failed: ${error.message}`));
      });
      stream.on("end", () => {
        guard.received(session);
        if (stream.sizeExceeded || message.size > options.maxMessageBytes) {
          void message.discard();
          return answer(
            smtpError(
              552,
              `message is ${message.size} bytes, over this inbox's limit of ${options.maxMessageBytes} bytes; send a smaller message`,
            ),
          );
        }
        const envelope: Envelope = {
          mailFrom: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
        };
        message
          .finish()
          .then((received) => options.deliver(received, envelope))
          .then(
            (reply) => answer(null, reply),
            (error: Error) => {
              options.log.warn(`local inbox: refused a message: ${error.message}`);
              const code = error instanceof SmtpReplyError ? error.responseCode : storageCode(error);
              answer(smtpError(code, code < 500 ? `${error.message}; try again later` : error.message));
            },
          );
      });
    },
  });
  // The guard decides on each connection before smtp-server's own accept handler sees it.
  const accept = server.server.listeners("connection") as ((socket: Socket) => void)[];
  server.server.removeAllListeners("connection");
  server.server.on("connection", (socket: Socket) => {
    if (!guard.admit(socket)) return;
    for (const listener of accept) listener.call(server.server, socket);
    guard.watch(socket);
  });
  // smtp-server reports per-connection trouble (resets, timeouts) here; it must not crash us.
  const onError = (error: Error) => options.log.warn(`local inbox SMTP: ${error.message}`);
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once("error", failed);
    server.listen(options.port, options.host, () => {
      server.off("error", failed);
      server.on("error", onError);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    get connections() {
      return guard.open;
    },
    close: () =>
      new Promise<void>((resolve) => {
        guard.close();
        server.close(() => resolve());
      }),
  };
}

/** A full disk (or quota) is 452, insufficient storage; any other storage failure 451. */
const storageCode = (error: Error): number => (isDiskFull(error) ? 452 : 451);
