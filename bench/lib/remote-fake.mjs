import { fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

/** This process's high-resolution wall clock, comparable with the fake's `landedAt`. */
export const wallNow = () => performance.timeOrigin + performance.now();

/**
 * The fake inboxbase upstream, run in its own process (fake-upstream-process.mjs). Same
 * methods as FakeUpstream, asynchronous; logs are named by identity instead of passed around.
 */
export class RemoteFakeUpstream {
  url = "";
  #child;
  #next = 0;
  #pending = new Map();

  async start() {
    this.#child = fork(join(import.meta.dirname, "fake-upstream-process.mjs"), [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child.on("message", (message) => {
      if (message.ready) return;
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) pending?.reject(new Error(`fake upstream: ${message.error}`));
      else pending?.resolve(message.result);
    });
    const [ready] = await once(this.#child, "message");
    this.url = ready.url;
    return this;
  }

  #call(method, ...args) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, method, args });
    });
  }

  ensure = (identity) => this.#call("ensure", identity);
  /** Appends an email; resolves with its `seq` and `landedAt` (see wallNow). */
  email = (identity, data = {}, extra = {}) => this.#call("email", identity, data, extra);
  /** `n` realistic emails timestamped from `startMs` on, 1 ms apart; resolves with the log's length. */
  fill = (identity, n, startMs) => this.#call("fill", identity, n, startMs);
  warm = (identity) => this.#call("warm", identity);
  /** `identity` reads the log of `from` (a copy of it with `copy`); resolves with its length. */
  share = (identity, from, copy = false) => this.#call("share", identity, from, copy);
  requestsFor = (identity) => this.#call("requestsFor", identity);
  whenParked = (identity, count = 1) => this.#call("whenParked", identity, count);
  whenParkedTotal = (count) => this.#call("whenParkedTotal", count);

  async close() {
    const exited = once(this.#child, "exit");
    await this.#call("close").catch(() => {});
    await exited;
  }
}
