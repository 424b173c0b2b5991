import { performance } from "node:perf_hooks";
import { callOk, connectChild, SERVER_ENTRY, serverEnv } from "../lib/mcp-child.mjs";
import { sleep, summary, withTimeout } from "../lib/stats.mjs";

/**
 * Event lands upstream → wait_for_email result at a real SDK Client over stdio. Each sample
 * starts a wait, lets it park its long-poll at the fake, then appends the email and times
 * until the client holds the result.
 */
async function waitLatency(server, fake, samples) {
  const identity = "latency@bench.test";
  fake.ensure(identity);
  const out = [];
  for (let i = 0; i < samples + 20; i++) {
    const code = String(100_000 + i);
    const pending = callOk(server.client, "wait_for_email", { identity, timeoutSeconds: 30 });
    await withTimeout(fake.whenParked(identity), 10_000, "waiting for the long-poll to park");
    const t0 = performance.now();
    fake.email(identity, { from: "noreply@shop.test", subject: `Your code is ${code}` });
    const result = await withTimeout(pending, 10_000, "wait_for_email");
    const t1 = performance.now();
    if (!result.found || !result.email.codes.includes(code)) throw new Error(`wrong email for sample ${i}`);
    if (i >= 20) out.push(t1 - t0); // the first 20 warm up the JIT and the connection pool
  }
  return out;
}

/**
 * The baseline: what peer servers do — check the mailbox every second. Each poller calls
 * pull_events (no long-poll) once a second over the same stdio link while emails land at
 * random instants; a sample is the time from landing to the poll result that carries it.
 */
async function pollLatency(server, fake, pollers, perPoller) {
  const out = [];
  const run = async (p) => {
    const identity = `poller${p}@bench.test`;
    fake.ensure(identity);
    await callOk(server.client, "pull_events", { identity, limit: 200 });
    const landed = new Map();
    let produced = false;
    const producer = (async () => {
      for (let i = 0; i < perPoller; i++) {
        await sleep(200 + Math.random() * 1000);
        const event = fake.email(identity, { subject: `poll sample ${i}` });
        landed.set(event.seq, performance.now());
      }
      produced = true;
    })();
    const deadline = performance.now() + perPoller * 1500 + 10_000;
    while ((!produced || landed.size > 0) && performance.now() < deadline) {
      const started = performance.now();
      const page = await callOk(server.client, "pull_events", { identity, limit: 200 });
      const now = performance.now();
      for (const event of page.events) {
        const at = landed.get(event.seq);
        if (at !== undefined) {
          out.push(now - at);
          landed.delete(event.seq);
        }
      }
      await sleep(Math.max(0, 1000 - (performance.now() - started)));
    }
    await producer;
  };
  await Promise.all(Array.from({ length: pollers }, (_, p) => run(p)));
  return out;
}

export async function measureLatency({ fake, stateDir, samples = 300, pollers = 10, perPoller = 6 }) {
  const server = await connectChild({ args: [SERVER_ENTRY], env: serverEnv(fake.url, stateDir) });
  try {
    const ours = await waitLatency(server, fake, samples);
    const poll = await pollLatency(server, fake, pollers, perPoller);
    return { ours: summary(ours), poll: summary(poll) };
  } finally {
    await server.close();
  }
}
