// The bench's fake upstream in a process of its own, so its event loop never shares a core's
// turn with the client being timed: what the bench measures is what a user's client sees.
// Driven over IPC by RemoteFakeUpstream (remote-fake.mjs).
import { performance } from "node:perf_hooks";
import { FakeUpstream } from "./fake-upstream.mjs";

const fake = await new FakeUpstream().start();
const now = () => performance.timeOrigin + performance.now();

const methods = {
  ensure: (identity) => void fake.ensure(identity),
  /** Appends an email; `landedAt` is this process's high-resolution wall clock at the append. */
  email: (identity, data, extra) => {
    const landedAt = now();
    const event = fake.email(identity, data, extra);
    return { seq: event.seq, landedAt };
  },
  fill: (identity, n, startMs) => fake.fill(identity, n, (i) => startMs + i).length,
  warm: (identity) => void fake.warm(fake.ensure(identity)),
  /** `identity` reads `from`'s log: the same array (`copy: false`) or a copy of it. */
  share: (identity, from, copy) => {
    const log = fake.ensure(from);
    return fake.share(identity, copy ? log.slice() : log).length;
  },
  requestsFor: (identity) => fake.requestsFor(identity),
  whenParked: (identity, count) => fake.whenParked(identity, count),
  whenParkedTotal: (count) => fake.whenParkedTotal(count),
  close: async () => {
    await fake.close();
    setImmediate(() => process.exit(0));
  },
};

process.on("message", async ({ id, method, args }) => {
  try {
    process.send({ id, result: await methods[method](...args) });
  } catch (error) {
    process.send({ id, error: error.message });
  }
});
process.send({ ready: true, url: fake.url });
