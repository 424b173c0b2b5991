import { WebSocket } from "undici";

/**
 * A server's live heap, read through its inspector (started with `--inspect=127.0.0.1:0`):
 * a full collection first, so what is left is what the process really holds. RSS alone
 * cannot tell a leak from garbage V8 has not collected yet.
 */
export interface HeapProbe {
  /** Heap used after a full garbage collection, MiB. */
  liveHeapMiB(): Promise<number>;
  close(): void;
}

export async function openHeapProbe(inspectorUrl: string): Promise<HeapProbe> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`no inspector at ${inspectorUrl}`)), { once: true });
  });
  let next = 0;
  const pending = new Map<number, (message: { result?: unknown }) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message);
    pending.delete(message.id ?? -1);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<{ result?: unknown }>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async liveHeapMiB() {
      await call("HeapProfiler.collectGarbage");
      const reply = (await call("Runtime.evaluate", {
        expression: "process.memoryUsage().heapUsed",
        returnByValue: true,
      })) as { result?: { result?: { value?: number } } };
      const used = reply.result?.result?.value;
      if (typeof used !== "number") throw new Error("the inspector did not report heapUsed");
      return used / 2 ** 20;
    },
    close: () => ws.close(),
  };
}

/** The inspector's WebSocket URL from a process's stderr (`Debugger listening on ws://…`). */
export const inspectorUrlIn = (stderr: string): string | undefined =>
  /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
