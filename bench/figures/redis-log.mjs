import { once } from "node:events";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import nodemailer from "nodemailer";
import { median, sleep, summary, withTimeout } from "../lib/stats.mjs";
import { measureIngest, startInbox } from "./ingest.mjs";
import { startRedis } from "./redis-store.mjs";

/**
 * The inbox's log on Redis Streams beside the file log (SPEC §9): SMTP ingest into each
 * (durable acceptance, reps interleaved so both see the same machine noise), and how soon a
 * long-poll on a second inbox process wakes for mail sent to the first, beside a long-poll
 * on the accepting process itself for the same mail.
 */

async function parked(http, n) {
  for (let i = 0; i < 1000; i++) {
    const health = await (await fetch(`${http}/v1/health`)).json();
    if ((health.waiting ?? 0) >= n) return;
    await sleep(2);
  }
  throw new Error("the long-poll did not park");
}

const longPoll = async (http, identity, head) => {
  const res = await fetch(
    `${http}/v1/identities/${encodeURIComponent(identity)}/events?since=${head}&timeoutMs=20000`,
  );
  const body = await res.json();
  return { at: performance.now(), events: body.events.length };
};

async function crossWake(url, stateDir, samples) {
  const env = { MAIL_EVENTS_STORE: url };
  const a = await startInbox(join(stateDir, "wake-a"), env);
  const b = await startInbox(join(stateDir, "wake-b"), env);
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: a.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 1,
  });
  const local = [];
  const remote = [];
  const gap = [];
  try {
    for (let i = 0; i < samples + 10; i++) {
      const identity = `wake${i}@bench.test`;
      const polls = [longPoll(a.http, identity, 0), longPoll(b.http, identity, 0)];
      await parked(a.http, 1);
      await parked(b.http, 1);
      // From the start of the SMTP transaction: A's own long-poll usually returns before the
      // client has read its 250, so "after the 250" would be 0 for both.
      const t0 = performance.now();
      await transport.sendMail({ from: "shop@bench.test", to: identity, subject: `w${i}`, text: "wake" });
      const [onA, onB] = await withTimeout(Promise.all(polls), 20_000, "the long-polls");
      if (onA.events !== 1 || onB.events !== 1) throw new Error(`sample ${i}: a long-poll returned no mail`);
      if (i < 10) continue;
      local.push(onA.at - t0);
      remote.push(onB.at - t0);
      gap.push(onB.at - onA.at);
    }
  } finally {
    transport.close();
    for (const inbox of [a, b]) {
      inbox.child.kill("SIGTERM");
      await once(inbox.child, "exit").catch(() => {});
    }
  }
  return { local: summary(local), remote: summary(remote), gap: summary(gap) };
}

export async function measureRedisLog({ stateDir, messages = 1000, reps = 3, samples = 100 }) {
  const redis = await startRedis();
  try {
    const rates = { file: [], redis: [] };
    const survived = { file: [], redis: [] };
    let survivedAll = true;
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? ["file", "redis"] : ["redis", "file"];
      for (const kind of order) {
        const r = await measureIngest({
          stateDir: join(stateDir, `${kind}-${rep}`),
          messages,
          reps: 1,
          // A database of its own per rep: the restarted inbox must find this rep's mail only.
          env: kind === "redis" ? { MAIL_EVENTS_STORE: redis.url.replace(/\/0$/, `/${rep + 1}`) } : {},
        });
        rates[kind].push(r.rate);
        survived[kind].push(...r.survived);
        survivedAll &&= r.survivedAll;
      }
    }
    const wake = await crossWake(redis.url, stateDir, samples);
    return {
      ingest: { file: median(rates.file), redis: median(rates.redis), rates },
      survived,
      survivedAll,
      wake,
    };
  } finally {
    await redis.close();
  }
}
