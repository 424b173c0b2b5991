import { callOk, connectChild, rssMiB, SERVER_ENTRY, serverEnv } from "../lib/mcp-child.mjs";
import { median, sleep, withTimeout } from "../lib/stats.mjs";

async function settledRss(pid) {
  const reads = [];
  for (let i = 0; i < 3; i++) {
    await sleep(200);
    reads.push(rssMiB(pid));
  }
  return median(reads);
}

/**
 * Idle RSS after initialize + tools/list, then RSS with `waits` wait_for_email calls parked
 * on distinct identities (each holding a long-poll at the fake). Repeated in fresh children.
 */
export async function measureWaitMemory({ fake, stateDir, waits = 50, reps = 3 }) {
  const idle = [];
  const warm = [];
  const loaded = [];
  for (let rep = 0; rep < reps; rep++) {
    const child = await connectChild({ args: [SERVER_ENTRY], env: serverEnv(fake.url, stateDir) });
    try {
      await child.client.listTools();
      idle.push(await settledRss(child.pid));
      // One finished call first, so what the server loads on demand at its first call
      // (undici, html-to-text) is told apart from what the 50 waits themselves hold.
      const first = `warm${rep}@bench.test`;
      await fake.ensure(first);
      await fake.email(first, { subject: "code 111111" });
      await callOk(child.client, "wait_for_email", { identity: first, timeoutSeconds: 5 });
      warm.push(await settledRss(child.pid));
      const identities = Array.from({ length: waits }, (_, i) => `w${rep}-${i}@bench.test`);
      for (const identity of identities) await fake.ensure(identity);
      const pending = identities.map((identity) =>
        callOk(child.client, "wait_for_email", { identity, timeoutSeconds: 120 }),
      );
      await withTimeout(fake.whenParkedTotal(waits), 20_000, `${waits} parked long-polls`);
      loaded.push(await settledRss(child.pid));
      for (const identity of identities) await fake.email(identity, { subject: "code 123456" });
      const results = await withTimeout(Promise.all(pending), 20_000, "releasing the waits");
      if (results.some((r) => !r.found)) throw new Error("a parked wait did not get its email");
    } finally {
      await child.close();
    }
  }
  return {
    idle: median(idle),
    warm: median(warm),
    loaded: median(loaded),
    delta: median(loaded.map((l, i) => l - idle[i])),
    firstCall: median(warm.map((w, i) => w - idle[i])),
    waitsOverWarm: median(loaded.map((l, i) => l - warm[i])),
  };
}
