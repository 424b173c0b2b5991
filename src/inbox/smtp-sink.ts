import type { SMTPServer, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import type { Logger } from "../log.js";
import type { Envelope } from "./parse-message.js";

export interface SmtpSinkOptions {
  host: string;
  port: number;
  /** Largest message accepted, bytes; above it the client gets a 552. */
  maxMessageBytes: number;
  maxRecipients: number;
  log: Logger;
  /** Stores the message durably; resolves with the reply text for the `250`. */
  deliver(raw: Buffer, envelope: Envelope): Promise<string>;
}

export interface SmtpSink {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string): Error =>
  Object.assign(new Error(message), { responseCode: code });

/**
 * An SMTP server that accepts mail for any recipient and relays nothing: every message ends
 * in `deliver`. No AUTH, no STARTTLS (it listens on loopback only). Malformed input gets an
 * SMTP error from smtp-server; nothing a client sends can throw out of here.
 */
export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  // `.default` (module.exports) works both unbundled and in dist/'s bundle, whose lazy chunk
  // for this CommonJS package has a default export only.
  const { SMTPServer } = (await import("smtp-server")).default;
  const server: SMTPServer = new SMTPServer({
    name: "mail-events-mcp",
    banner: "mail-events-mcp local inbox: accepts mail for any address, relays nothing",
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    size: options.maxMessageBytes,
    logger: false,
    disableReverseLookup: true,
    maxClients: 200,
    closeTimeout: 1_000,
    socketTimeout: 60_000,
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
      const chunks: Buffer[] = [];
      let bytes = 0;
      let answered = false;
      const answer = (error: Error | null, reply?: string) => {
        if (answered) return;
        answered = true;
        callback(error, reply);
      };
      stream.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        // Past the limit, keep draining the socket but stop holding the bytes.
        if (bytes <= options.maxMessageBytes) chunks.push(chunk);
      });
      stream.on("error", (error: Error) =>
        answer(smtpError(451, `message transfer failed: ${error.message}`)),
      );
      stream.on("end", () => {
        if (stream.sizeExceeded || bytes > options.maxMessageBytes) {
          return answer(
            smtpError(
              552,
              `message is ${bytes} bytes, over this inbox's limit of ${options.maxMessageBytes} bytes; send a smaller message`,
            ),
          );
        }
        const envelope: Envelope = {
          mailFrom: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
        };
        options.deliver(Buffer.concat(chunks, bytes), envelope).then(
          (reply) => answer(null, reply),
          (error: Error) => {
            options.log.warn(`local inbox: refused a message: ${error.message}`);
            const code = (error as { responseCode?: number }).responseCode ?? 451;
            answer(smtpError(code, code < 500 ? `${error.message}; try again later` : error.message));
          },
        );
      });
    },
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
