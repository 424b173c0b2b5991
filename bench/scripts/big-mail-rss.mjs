// Peak RSS of `mail-events-mcp inbox` while 16 clients each send one 9.9 MB message at once
// (SPEC §5: memory stays bounded under any input). Reads the child's VmHWM (Linux).
// Usage: node bench/scripts/big-mail-rss.mjs [path/to/main.js] [count] [megabytes]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import nodemailer from "nodemailer";

const main = process.argv[2] ?? join(import.meta.dirname, "..", "..", "dist", "main.js");
const count = Number(process.argv[3] ?? 16);
const megabytes = Number(process.argv[4] ?? 9.9);

export function bigMessage(i, bytes) {
  const line = `${"word ".repeat(15)}${i}\r\n`;
  const body = line.repeat(Math.ceil(bytes / line.length));
  return `From: big@example.com\r\nTo: big${i}@example.com\r\nSubject: big ${i}\r\n\r\n${body}`;
}

const stateDir = await mkdtemp(join(tmpdir(), "big-mail-rss-"));
const child = spawn(process.execPath, [main, "inbox"], {
  env: {
    PATH: process.env.PATH ?? "",
    MAIL_EVENTS_STATE_DIR: stateDir,
    MAIL_EVENTS_SMTP_PORT: "0",
    MAIL_EVENTS_HTTP_PORT: "0",
  },
  stdio: ["ignore", "pipe", "inherit"],
});
const [line] = await once(createInterface({ input: child.stdout }), "line");
const port = Number(new URL(JSON.parse(line).smtp).port);
const hwm = async () =>
  Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${child.pid}/status`, "utf8"))?.[1]) / 1024;
const idle = await hwm();
const t0 = performance.now();
const results = await Promise.allSettled(
  Array.from({ length: count }, async (_, i) => {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port,
      secure: false,
      ignoreTLS: true,
      socketTimeout: 120_000,
    });
    try {
      const info = await transport.sendMail({
        envelope: { from: "big@example.com", to: [`big${i}@example.com`] },
        raw: bigMessage(i, megabytes * 1e6),
      });
      return info.response;
    } finally {
      transport.close();
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const peak = await hwm();
const accepted = results.filter((r) => r.status === "fulfilled").length;
const firstError = results.find((r) => r.status === "rejected");
console.log(
  JSON.stringify({
    main,
    messages: count,
    megabytes,
    accepted,
    idlePeakMiB: Math.round(idle),
    peakRssMiB: Math.round(peak),
    seconds: Number(seconds.toFixed(1)),
    ...(firstError ? { firstError: String(firstError.reason?.response ?? firstError.reason) } : {}),
  }),
);
child.kill("SIGTERM");
await once(child, "exit");
await rm(stateDir, { recursive: true, force: true });
