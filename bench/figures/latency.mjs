import { callOk, connectChild, SERVER_ENTRY, serverEnv } from "../lib/mcp-child.mjs";
import { wallNow } from "../lib/remote-fake.mjs";
import { sleep, summary } from "../lib/stats.mjs";
import { waitSample } from "../lib/wait-sample.mjs";

/**
 * Event lands upstream → wait_for_email result at a real SDK Client over stdio. Each sample
 * starts a wait, lets it park its long-poll at the fake, then appends the email and times
 * until the client holds the result.
 */
async function waitLatency(server, fake, samples) {
  const identity = "latency@bench.test";
  await fake.ensure(identity);
  const out = [];
  for (let i = 0; i < samples + 20; i++) {
    const ms = await waitSample(server, fake, identity, String(100_000 + i));
    if (i >= 20) out.push(ms); // the first 20 warm up the JIT and the connection pool
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
    await fake.ensure(identity);
    await callOk(server.client, "pull_events", { identity, limit: 200 });
    const landed = new Map();
    let produced = false;
    const producer = (async () => {
      for (let i = 0; i < perPoller; i++) {
        await sleep(200 + Math.random() * 1000);
        const event = await fake.email(identity, { subject: `poll sample ${i}` });
        landed.set(event.seq, event.landedAt);
      }
      produced = true;
    })();
    const deadline = wallNow() + perPoller * 1500 + 10_000;
    while ((!produced || landed.size > 0) && wallNow() < deadline) {
      const started = wallNow();
      const page = await callOk(server.client, "pull_events", { identity, limit: 200 });
      const now = wallNow();
      for (const event of page.events) {
        const at = landed.get(event.seq);
        if (at !== undefined) {
          out.push(now - at);
          landed.delete(event.seq);
        }
      }
      await sleep(Math.max(0, 1000 - (wallNow() - started)));
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
