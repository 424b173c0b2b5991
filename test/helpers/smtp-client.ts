import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import nodemailer from "nodemailer";

export interface RawMail {
  from: string;
  to: string[];
  raw: Buffer | string;
}

/** Sends a raw RFC 5322 message with nodemailer; resolves with the server's final reply. */
export async function sendWithNodemailer(port: number, mail: RawMail): Promise<string> {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope: { from: mail.from, to: mail.to }, raw: mail.raw });
    return info.response;
  } finally {
    transport.close();
  }
}

/** A pooled nodemailer transport, for sending many messages over few connections. */
export const pooledTransport = (port: number, maxConnections: number) =>
  nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections,
    maxMessages: Number.POSITIVE_INFINITY,
  });

const PYTHON_SEND = `
import json, smtplib, sys
args = json.loads(sys.argv[1])
raw = sys.stdin.buffer.read()
with smtplib.SMTP("127.0.0.1", args["port"], timeout=10) as s:
    refused = s.sendmail(args["from"], args["to"], raw)
    code, msg = s.noop()
print(json.dumps({"refused": refused, "noop": code}))
`;

/** Sends raw bytes with python3's smtplib in a child process: a stock client, not ours. */
export function sendWithPython(port: number, mail: RawMail): Promise<{ refused: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "python3",
      ["-c", PYTHON_SEND, JSON.stringify({ port, from: mail.from, to: mail.to })],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`python3 smtplib failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout) as { refused: Record<string, unknown> });
      },
    );
    child.stdin?.end(mail.raw);
  });
}

/** Runs a python3 script (given `port` as argv[1]) and returns its stdout. */
export function runPython(script: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("python3", ["-c", script, String(port)], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python3 failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * A hand-driven SMTP session: sends each line, collects each reply (multi-line replies
 * joined). Returns the reply codes and texts in order, starting with the greeting.
 */
export async function smtpDialogue(
  port: number,
  lines: (string | Buffer)[],
  timeoutMs = 10_000,
): Promise<string[]> {
  const socket = connect(port, "127.0.0.1");
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error("SMTP dialogue timed out")));
  const replies: string[] = [];
  let buffer = "";
  let current: string[] = [];
  let notify: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("latin1");
    for (let nl = buffer.indexOf("\r\n"); nl !== -1; nl = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 2);
      current.push(line);
      if (line[3] !== "-") {
        replies.push(current.join("\n"));
        current = [];
        notify?.();
      }
    }
  });
  const closed = once(socket, "close").catch(() => undefined);
  const replyCount = async (n: number) => {
    while (replies.length < n && !socket.destroyed) {
      await Promise.race([new Promise<void>((r) => (notify = r)), closed]);
    }
  };
  await once(socket, "connect");
  await replyCount(1);
  for (const line of lines) {
    if (socket.destroyed) break;
    const expected = replies.length + 1;
    socket.write(line);
    // A DATA body line ends only at "." — it gets no reply of its own until then.
    if (typeof line === "string" && line.endsWith("\r\n")) await replyCount(expected);
  }
  socket.end();
  return replies;
}
