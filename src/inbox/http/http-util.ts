import type { ServerResponse } from "node:http";
import { InboxRequestError } from "../../errors.js";
import type { InboxLog } from "../log/inbox-log.js";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/** A whole-number query parameter within bounds, or a 400 saying which and why. */
export function intParam(
  query: URLSearchParams,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InboxRequestError(
      400,
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** The identity a path or query names: URL-decoded, trimmed, lower-cased as the sink keys mail. */
export function identityParam(raw: string | null, name: string): string {
  if (raw === null || raw.trim() === "") throw new InboxRequestError(400, `${name} is required`);
  const identity = raw.trim().toLowerCase();
  if (identity.length > 320) throw new InboxRequestError(400, `${name} is longer than 320 characters`);
  return identity;
}

/**
 * Resolves true on the next append `identity` can see, false when `ms` pass, the signal
 * aborts or the log closes. Driven by the log's own wake-ups: no polling.
 */
export function waitForAppend(
  log: InboxLog,
  identity: string,
  ms: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (log.closed || signal.aborted || ms <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (woken: boolean) => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
      resolve(woken && !log.closed);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(false), ms);
    const unsubscribe = log.subscribe(identity, () => finish(true));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function clientGone(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => controller.abort());
  return controller.signal;
}
