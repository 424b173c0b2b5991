import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import nodemailer from "nodemailer";
import { ROOT, SERVER_ENTRY } from "../lib/mcp-child.mjs";
import { median, withTimeout } from "../lib/stats.mjs";

/** Starts `mail-events-mcp inbox` on free ports (`env` adds settings); resolves with its addresses from stdout. */
export function startInbox(stateDir, env = {}) {
  return startSink([SERVER_ENTRY, "inbox"], stateDir, env);
}

/** Starts `node <args>`, which prints its addresses as one JSON line on stdout. */
async function startSink(args, stateDir, env = {}) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      MAIL_EVENTS_STATE_DIR: stateDir,
      MAIL_EVENTS_SMTP_PORT: "0",
      MAIL_EVENTS_HTTP_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line));
    });
    child.on("exit", (code) =>
      reject(new Error(`inbox exited with ${code}: ${stderr.trim().split("\n").at(-1)}`)),
    );
  });
  const addresses = await withTimeout(ready, 15_000, `${args.join(" ")} to start`);
  const url = new URL(addresses.smtp);
  return { child, smtpPort: Number(url.port), http: addresses.http };
}

/** Sends `messages` small emails to `identity` over a pooled transport; resolves with msgs/s at the last 250. */
async function sendAll(smtpPort, identity, messages, connections) {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: connections,
    maxMessages: Number.POSITIVE_INFINITY,
  });
  let accepted = 0;
  try {
    const t0 = performance.now();
    const sends = Array.from({ length: messages }, (_, i) =>
      transport
        .sendMail({
          from: "shop@bench.test",
          to: identity,
          subject: `Your code is ${100_000 + i}`,
          text: `Hello,\n\nyour one-time code is ${100_000 + i}. It expires in 10 minutes.\n`,
        })
        .then(() => {
          accepted++;
        }),
    );
    await withTimeout(Promise.all(sends), 120_000, "SMTP ingest");
    return { accepted, rate: accepted / ((performance.now() - t0) / 1000) };
  } finally {
    transport.close();
  }
}

/**
 * The same client into a bare smtp-server sink (bench/lib/baseline-sink.mjs), in the same run:
 * `memory` (no disk: the protocol's and the client's own cost) and `fsync` (one fsynced file
 * per message: the least a durable sink does). The inbox's rate over these is what the
 * machine's noise does not move.
 */
export async function measureBaselineIngest({ stateDir, mode, messages = 1000, reps = 3, connections = 8 }) {
  const rates = [];
  for (let rep = 0; rep < reps; rep++) {
    const dir = join(stateDir, `baseline-${mode}-${rep}`);
    await mkdir(dir, { recursive: true });
    const sink = await startSink([join(ROOT, "bench/lib/baseline-sink.mjs"), mode, dir], dir);
    try {
      rates.push((await sendAll(sink.smtpPort, `baseline${rep}@bench.test`, messages, connections)).rate);
    } finally {
      sink.child.kill("SIGKILL");
      await once(sink.child, "exit").catch(() => {});
    }
  }
  return { rate: median(rates), rates };
}

async function countEvents(http, identity) {
  let since = 0;
  let count = 0;
  for (let page = 0; page < 1000; page++) {
    const response = await fetch(
      `${http}/v1/identities/${encodeURIComponent(identity)}/events?since=${since}&limit=200&timeoutMs=0`,
    );
    if (response.status === 404) return count;
    const body = await response.json();
    count += body.events.length;
    since = body.cursor;
    if (!body.hasMore) break;
  }
  return count;
}

/**
 * SMTP → durable log throughput: a pooled nodemailer transport pushes `messages` small
 * emails; the clock stops when the last one is accepted (250). Then the inbox is killed
 * with SIGKILL, restarted on the same state directory, and every accepted message must be
 * in its log: acceptance was durable. `env` picks the store (`MAIL_EVENTS_STORE`): with Redis
 * the restarted inbox reads the log back from Redis.
 */
export async function measureIngest({ stateDir, messages = 1000, reps = 3, connections = 8, env = {} }) {
  const rates = [];
  const survived = [];
  for (let rep = 0; rep < reps; rep++) {
    const dir = join(stateDir, `ingest-${rep}`);
    const inbox = await startInbox(dir, env);
    const identity = `ingest${rep}@bench.test`;
    let accepted = 0;
    try {
      const sent = await sendAll(inbox.smtpPort, identity, messages, connections);
      accepted = sent.accepted;
      rates.push(sent.rate);
    } finally {
      inbox.child.kill("SIGKILL");
      await once(inbox.child, "exit").catch(() => {});
    }
    const again = await startInbox(dir, env);
    try {
      survived.push((await countEvents(again.http, identity)) / accepted);
    } finally {
      again.child.kill("SIGTERM");
      await once(again.child, "exit").catch(() => {});
    }
  }
  return { rate: median(rates), rates, survivedAll: survived.every((s) => s === 1), survived };
}
