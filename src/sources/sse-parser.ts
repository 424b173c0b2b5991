/** One dispatched SSE frame: `id` and `event` as sent on that frame (never inherited). */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export interface SseParserHandlers {
  onEvent(message: SseMessage): void;
  /**
   * A frame that set `id:` and carried no data: the server moved the last event id without
   * an event (WHATWG HTML §9.2.6 allows it), e.g. so a client that saw nothing can resume.
   */
  onId?(id: string): void;
  /** A `retry:` field with a whole number of ms. */
  onRetry?(ms: number): void;
}

export interface SseParserLimits {
  /** Longest line kept while waiting for its end, in characters. */
  maxLineChars: number;
  /** Most characters one frame may gather (its data lines together) before it ends. */
  maxFrameChars: number;
}

export type SseOverflow = "line" | "frame";

/**
 * An SSE parser (WHATWG HTML §9.2.6) with two bounds, so an upstream can never make it hold
 * more than a line and a frame of the sizes given: `feed` returns the bound that was passed,
 * after which the parser must not be fed again. Lines may end in CRLF, LF or CR, split
 * anywhere across chunks. Partial lines are kept as fragments and joined once, so a long
 * line arriving a byte at a time costs linear time.
 */
export function createSseParser(handlers: SseParserHandlers, limits: SseParserLimits) {
  const fragments: string[] = [];
  let pending = 0;
  let first = true;
  /** The previous chunk ended in CR: a LF at the start of this one belongs to it. */
  let afterCr = false;
  let id: string | undefined;
  let event: string | undefined;
  let data = "";
  let dataLines = 0;

  const dispatch = () => {
    if (dataLines > 0) handlers.onEvent({ id, event, data });
    else if (id !== undefined) handlers.onId?.(id);
    id = undefined;
    event = undefined;
    data = "";
    dataLines = 0;
  };

  const line = (text: string) => {
    if (text === "") return dispatch();
    if (text.charCodeAt(0) === 58) return; // ":" comment, keepalives included
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      data = dataLines === 0 ? value : `${data}\n${value}`;
      dataLines++;
    } else if (field === "event") event = value === "" ? undefined : value;
    else if (field === "id") {
      if (!value.includes("\0")) id = value;
    } else if (field === "retry" && /^\d{1,9}$/.test(value)) handlers.onRetry?.(Number(value));
    // Unknown fields and a bad `retry` are ignored, as the spec asks.
  };

  return {
    feed(input: string): SseOverflow | undefined {
      let chunk = input;
      if (first) {
        first = false;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      }
      let start = 0;
      if (afterCr && chunk.charCodeAt(0) === 10) start = 1;
      afterCr = false;
      for (;;) {
        const lf = chunk.indexOf("\n", start);
        const cr = chunk.indexOf("\r", start);
        const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        if (end === -1) break;
        let text = chunk.slice(start, end);
        if (fragments.length > 0) {
          fragments.push(text);
          text = fragments.join("");
          fragments.length = 0;
          pending = 0;
        }
        line(text);
        if (data.length > limits.maxFrameChars) return "frame";
        start = end + 1;
        if (chunk.charCodeAt(end) === 13) {
          if (start === chunk.length) afterCr = true;
          else if (chunk.charCodeAt(start) === 10) start++;
        }
      }
      if (start < chunk.length) {
        const rest = chunk.slice(start);
        fragments.push(rest);
        pending += rest.length;
        if (pending > limits.maxLineChars) return "line";
        if (pending + data.length > limits.maxFrameChars) return "frame";
      }
      return undefined;
    },
  };
}
