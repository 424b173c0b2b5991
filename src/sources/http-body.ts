import type { Dispatcher } from "undici";

/** A body we stop reading; undici reports that as an error nobody needs to hear. */
export function discard(body: {
  destroyed: boolean;
  on(event: "error", fn: () => void): unknown;
  destroy(): void;
}) {
  if (body.destroyed) return;
  body.on("error", () => {});
  body.destroy();
}

/** Up to `maxBytes` of a body within `maxMs`; the rest is never read (the socket is closed). */
export async function readCapped(body: Dispatcher.ResponseData["body"], maxBytes: number, maxMs: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => discard(body), maxMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) break;
    }
  } catch {
    // What arrived is enough for a message.
  } finally {
    clearTimeout(timer);
    discard(body);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8");
}
