import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { callOk, connectChild, ROOT, SERVER_ENTRY, serverEnv } from "../lib/mcp-child.mjs";
import { median, withTimeout } from "../lib/stats.mjs";

const DAY = 86_400_000;

/** A 100k-event log of day-old received emails, shared (by reference) between identities. */
export async function bigLog(fake, events) {
  const name = "big-log@bench.test";
  const length = await fake.fill(name, events, Date.now() - DAY);
  await fake.warm(name);
  return { name, length };
}

/**
 * pull_events (limit 200, committing) from the start of a 100k-event log to its end. Then the
 * same number of calls to a server replaying one captured page (replay-page-server.mjs): the
 * SDK-and-stdio floor for pages that size, measured in the same run.
 */
export async function measurePullWalk({ fake, stateDir, log, reps = 3 }) {
  const child = await connectChild({ args: [SERVER_ENTRY], env: serverEnv(fake.url, stateDir) });
  const rates = [];
  const seconds = [];
  let captured;
  let pages = 0;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const identity = `walk${rep}@bench.test`;
      await fake.share(identity, log.name);
      const maxPages = Math.ceil(log.length / 200) + 10;
      let count = 0;
      let lastSeq = 0;
      const t0 = performance.now();
      for (let page = 0; page < maxPages; page++) {
        const result = await child.client.callTool(
          { name: "pull_events", arguments: { identity, limit: 200 } },
          undefined,
          { timeout: 120_000 },
        );
        if (result.isError) throw new Error(`pull_events failed: ${JSON.stringify(result.content)}`);
        const out = result.structuredContent;
        if (rep === 0) {
          captured ??= result;
          pages++;
        }
        for (const event of out.events) {
          if (event.seq !== lastSeq + 1) throw new Error(`walk skipped from ${lastSeq} to ${event.seq}`);
          lastSeq = event.seq;
        }
        count += out.events.length;
        if (!out.hasMore) break;
      }
      const elapsed = (performance.now() - t0) / 1000;
      if (count !== log.length) throw new Error(`walk saw ${count} of ${log.length} events`);
      rates.push(count / elapsed);
      seconds.push(elapsed);
    }
  } finally {
    await child.close();
  }
  const floor = await replayWalk(captured, pages, stateDir, reps);
  return { rate: median(rates), seconds: median(seconds), rates, floor };
}

/** `pages` calls answered with `page` by replay-page-server.mjs; events/s over `reps` runs. */
async function replayWalk(page, pages, stateDir, reps) {
  const file = join(stateDir, "captured-page.json");
  await writeFile(file, JSON.stringify({ content: page.content, structuredContent: page.structuredContent }));
  const perPage = page.structuredContent.events.length;
  const child = await connectChild({ args: [join(ROOT, "bench/lib/replay-page-server.mjs"), file] });
  const rates = [];
  try {
    for (let rep = 0; rep < reps; rep++) {
      const t0 = performance.now();
      for (let i = 0; i < pages; i++) {
        await child.client.callTool({ name: "pull_events", arguments: { identity: "x", limit: 200 } });
      }
      rates.push((pages * perPage) / ((performance.now() - t0) / 1000));
    }
  } finally {
    await child.close();
  }
  return { rate: median(rates), rates, pages, perPage, bytes: JSON.stringify(page).length };
}

/**
 * The first wait_for_email on an identity with no stored cursor whose log holds 100k
 * day-old emails: requests the fake receives until a fresh email, appended once the wait
 * is long-polling, comes back.
 */
export async function measureFirstWait({ fake, stateDir, log, reps = 3 }) {
  const child = await connectChild({ args: [SERVER_ENTRY], env: serverEnv(fake.url, stateDir) });
  const requests = [];
  const ms = [];
  try {
    for (let rep = 0; rep < reps; rep++) {
      const identity = `first${rep}@bench.test`;
      await fake.share(identity, log.name, true);
      const before = await fake.requestsFor(identity);
      const t0 = performance.now();
      const pending = callOk(child.client, "wait_for_email", { identity, timeoutSeconds: 20 });
      await withTimeout(fake.whenParked(identity), 20_000, "the first wait to reach the live end");
      const seekMs = performance.now() - t0;
      await fake.email(identity, { subject: "Your code is 654321" });
      const result = await withTimeout(pending, 20_000, "first wait");
      if (!result.found || !result.email.codes.includes("654321"))
        throw new Error("first wait got the wrong email");
      requests.push((await fake.requestsFor(identity)) - before);
      ms.push(seekMs);
    }
  } finally {
    await child.close();
  }
  return { requests: Math.max(...requests), all: requests, seekMs: median(ms) };
}
