import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./helpers/harness.js";
import { until } from "./helpers/until.js";

let h: Harness;
afterEach(async () => h?.close());

type Found = { found: boolean; email?: { codes: string[] } };

describe("wait_for_email as an MCP task", () => {
  it("is advertised as task-capable, never task-required", async () => {
    h = await startHarness();
    const { tools } = await h.client.listTools();
    const wait = tools.find((t) => t.name === "wait_for_email");
    expect(wait?.execution?.taskSupport).toBe("optional");
    expect(h.client.getServerCapabilities()?.tasks?.requests?.tools?.call).toBeDefined();
  });

  it("runs as a task: created, working, completed, and its result carries the email", async () => {
    h = await startHarness();
    h.fake.ensure("task@x.test");
    const seen: string[] = [];
    let result: Found | undefined;
    const stream = h.client.experimental.tasks.callToolStream(
      { name: "wait_for_email", arguments: { identity: "task@x.test", timeoutSeconds: 20 } },
      undefined,
      { task: { ttl: 60_000 } },
    );
    let appended = false;
    for await (const message of stream) {
      if (message.type === "taskCreated") seen.push("created");
      if (message.type === "taskStatus") {
        seen.push(message.task.status);
        // The task lives on past the call that created it: the mail lands only now.
        if (!appended) {
          appended = true;
          h.fake.email("task@x.test", { subject: "Your code is 424242" });
        }
      }
      if (message.type === "result") result = message.result.structuredContent as Found;
      if (message.type === "error") throw message.error;
    }
    expect(seen[0]).toBe("created");
    expect(seen).toContain("working");
    expect(result?.email?.codes).toEqual(["424242"]);
    // Returned once, as a plain wait would: the next wait does not hand it back.
    const next = await h.ok<Found>("wait_for_email", { identity: "task@x.test", timeoutSeconds: 0.3 });
    expect(next.found).toBe(false);
  });

  it("stops a task's wait when the task is cancelled", async () => {
    h = await startHarness();
    h.fake.ensure("cancel@x.test");
    const stream = h.client.experimental.tasks.callToolStream(
      { name: "wait_for_email", arguments: { identity: "cancel@x.test", timeoutSeconds: 60 } },
      undefined,
      { task: { ttl: 60_000 } },
    );
    let taskId: string | undefined;
    for await (const message of stream) {
      if (message.type === "taskCreated") {
        taskId = message.task.taskId;
        break;
      }
    }
    expect(taskId).toBeDefined();
    await until(() => h.fake.waiting > 0);
    await h.client.experimental.tasks.cancelTask(taskId as string);
    // Its upstream long-poll is closed at once.
    await until(() => h.fake.closedRequests > 0);
    expect(h.fake.closedRequests).toBeGreaterThanOrEqual(1);
    expect((await h.client.experimental.tasks.getTask(taskId as string)).status).toBe("cancelled");
  });

  it("still answers a plain call at once when the mail lands, with progress when asked", async () => {
    h = await startHarness({ deps: { progressEveryMs: 50 } });
    h.fake.ensure("plain@x.test");
    const progress: number[] = [];
    const pending = h.client.callTool(
      { name: "wait_for_email", arguments: { identity: "plain@x.test", timeoutSeconds: 20 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress), resetTimeoutOnProgress: true, timeout: 60_000 },
    );
    await until(() => h.fake.waiting > 0);
    await until(() => progress.length >= 2);
    h.fake.email("plain@x.test", { subject: "Your code is 515151" });
    const result = await pending;
    expect((result.structuredContent as Found).email?.codes).toEqual(["515151"]);
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });
});
