import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { callOk, connectChild, SERVER_ENTRY, serverEnv } from "../lib/mcp-child.mjs";
import { median, sleep, summary } from "../lib/stats.mjs";
import { waitSample } from "../lib/wait-sample.mjs";

/**
 * The Redis store beside the file store (SPEC §7: within 1.5× in the same run): two servers,
 * one per store, measured interleaved sample by sample so both see the same machine noise.
 * A redis-server of its own (loopback, free port, temp dir, AOF everysec) runs for the figure.
 */

async function freePort() {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

async function pong(port) {
  const socket = new Socket();
  try {
    socket.connect(port, "127.0.0.1");
    await once(socket, "connect");
    socket.write("PING\r\n");
    const [data] = await once(socket, "data");
    return data.toString().startsWith("+PONG");
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

export async function startRedis() {
  let binary;
  try {
    binary = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("redis-server is not installed (apt-get install -y redis-server)");
  }
  const dir = await mkdtemp(join(tmpdir(), "mail-events-bench-redis-"));
  const port = await freePort();
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes"],
    { stdio: "ignore" },
  );
  const giveUp = Date.now() + 10_000;
  while (!(await pong(port))) {
    if (child.exitCode !== null || Date.now() > giveUp) throw new Error("redis-server did not start");
    await sleep(20);
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    async close() {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** pull_events (limit 200, committing) from the start of `log` to its end: events/s. */
async function walk(server, fake, identity, log) {
  await fake.share(identity, log.name);
  let count = 0;
  const t0 = performance.now();
  for (let page = 0; page < Math.ceil(log.length / 200) + 10; page++) {
    const out = await callOk(server.client, "pull_events", { identity, limit: 200 });
    count += out.events.length;
    if (!out.hasMore) break;
  }
  if (count !== log.length) throw new Error(`walk saw ${count} of ${log.length} events`);
  return count / ((performance.now() - t0) / 1000);
}

export async function measureRedisStore({ fake, stateDir, log, samples = 200, reps = 3 }) {
  const redis = await startRedis();
  const servers = {};
  try {
    servers.file = await connectChild({
      args: [SERVER_ENTRY],
      env: serverEnv(fake.url, join(stateDir, "file")),
    });
    servers.redis = await connectChild({
      args: [SERVER_ENTRY],
      env: serverEnv(fake.url, join(stateDir, "redis"), { MAIL_EVENTS_STORE: redis.url }),
    });
    const latency = { file: [], redis: [] };
    for (const kind of ["file", "redis"]) await fake.ensure(`store-${kind}@bench.test`);
    for (let i = 0; i < samples + 20; i++) {
      // Alternate which store goes first, so neither always runs on a warmer machine.
      const order = i % 2 === 0 ? ["file", "redis"] : ["redis", "file"];
      for (const kind of order) {
        const ms = await waitSample(servers[kind], fake, `store-${kind}@bench.test`, String(200_000 + i));
        if (i >= 20) latency[kind].push(ms);
      }
    }
    const rates = { file: [], redis: [] };
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? ["file", "redis"] : ["redis", "file"];
      for (const kind of order)
        rates[kind].push(await walk(servers[kind], fake, `walk-${kind}-${rep}@bench.test`, log));
    }
    return {
      latency: { file: summary(latency.file), redis: summary(latency.redis) },
      walk: { file: median(rates.file), redis: median(rates.redis) },
    };
  } finally {
    await Promise.allSettled(Object.values(servers).map((s) => s.close()));
    await redis.close();
  }
}
