import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/inbox/log/group-commit.js";

/** A write that holds each batch until released, recording what it was given and when. */
function gatedWrites() {
  const log: string[] = [];
  const gates: (() => void)[] = [];
  const commits = new GroupCommit<number>(async (batch) => {
    log.push(`write ${batch.join(",")}`);
    await new Promise<void>((release) => gates.push(release));
    log.push(`done ${batch.join(",")}`);
  });
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()?.();
  };
  return { commits, log, release };
}

describe("GroupCommit", () => {
  it("writes what arrived during a batch together, in the next one", async () => {
    const { commits, log, release } = gatedWrites();
    commits.push(1); // starts a write of [1] at once
    commits.push(2);
    await new Promise((r) => setImmediate(r));
    commits.push(3);
    commits.push(4);
    await release();
    await release();
    await commits.settled();
    expect(log).toEqual(["write 1", "done 1", "write 2,3,4", "done 2,3,4"]);
  });

  it("runs an exclusive job between batches: never during a write, and what queued meanwhile follows it", async () => {
    const { commits, log, release } = gatedWrites();
    commits.push(1);
    const job = commits.exclusive(async () => {
      log.push("job");
      return 7;
    });
    await new Promise((r) => setImmediate(r));
    commits.push(2);
    expect(log).toEqual(["write 1"]);
    await release();
    // 2 was pushed while 1 was written, so it is in the queue the write's loop drains first.
    await release();
    expect(await job).toBe(7);
    await commits.settled();
    expect(log).toEqual(["write 1", "done 1", "write 2", "done 2", "job"]);
  });

  it("pushes during the exclusive job are written after it, and a failing job still lets them through", async () => {
    const { commits, log, release } = gatedWrites();
    const job = commits.exclusive(async () => {
      commits.push(5);
      log.push("job");
      throw new Error("rewrite failed");
    });
    await release();
    await expect(job).rejects.toThrow("rewrite failed");
    await commits.settled();
    expect(log).toEqual(["job", "write 5", "done 5"]);
  });
});
