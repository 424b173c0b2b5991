import { Transform } from "node:stream";

/** How much of a dropped line is kept, to find the request id it carried. */
const HEAD_BYTES = 1024;

/**
 * Passes whole newline-ended lines through and drops, whole, any line longer than
 * `maxLineBytes`, calling `onDrop` with its first bytes; the next line passes as usual.
 *
 * Why: the SDK's stdio transport, given a line past its 10 MiB buffer, closes itself and
 * pauses stdin — the process then never answers, never exits and keeps its ports. Lines that
 * reach it through here are always within its limit, and a dropped one costs no memory: it
 * is counted, not held.
 */
export function lineLimit(maxLineBytes: number, onDrop: (head: Buffer) => void): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  const drop = (tail: Buffer) => {
    const head = Buffer.concat([...parts, tail.subarray(0, HEAD_BYTES)]).subarray(0, HEAD_BYTES);
    parts = [];
    size = 0;
    onDrop(head);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const out: Buffer[] = [];
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(10, start);
        const end = newline === -1 ? chunk.length : newline + 1;
        const piece = chunk.subarray(start, end);
        start = end;
        if (skipping) {
          if (newline !== -1) skipping = false;
          continue;
        }
        const length = size + piece.length - (newline === -1 ? 0 : 1);
        if (length > maxLineBytes) {
          drop(piece);
          skipping = newline === -1;
          continue;
        }
        if (newline === -1) {
          parts.push(piece);
          size += piece.length;
        } else {
          out.push(...parts, piece);
          parts = [];
          size = 0;
        }
      }
      if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
      done();
    },
  });
}

/** The id of the JSON-RPC request a line's first bytes begin, if it shows before `params`. */
export function requestIdIn(head: Buffer): string | number | undefined {
  const match =
    /^\s*\{(?:\s*"jsonrpc"\s*:\s*"2\.0"\s*,)?\s*"id"\s*:\s*(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")/.exec(
      head.toString("utf8"),
    );
  if (match === null) return undefined;
  const raw = match[1] as string;
  try {
    return JSON.parse(raw) as string | number;
  } catch {
    return undefined;
  }
}
