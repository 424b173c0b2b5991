import { extract } from "./extract.js";
import { analyzeHtml } from "./html.js";
import { MAX_ATTACHMENTS, newMimeParser } from "./read-mime.js";
import { neutralize } from "./text.js";

/** Longest text `get_email` returns; `truncated` says when the mail held more. */
export const FULL_TEXT_CHARS = 100_000;

export interface FullAttachment {
  /** Position among the message's attachments (inline parts included), 0-based. */
  index: number;
  filename: string | null;
  contentType: string;
  size: number;
}

/** What one email holds beyond its bounded event: the whole readable text, the HTML, the parts. */
export interface FullMessage {
  text: string;
  truncated: boolean;
  codes: string[];
  links: string[];
  /** The HTML part as sent (for a sandboxed viewer only; never fed to an agent). */
  html: string | undefined;
  attachments: FullAttachment[];
  /** The bytes of the attachment asked for, when it exists. */
  content?: Buffer;
}

/**
 * Re-reads a stored raw message in full. The text is the hidden-aware reading (an HTML-only
 * mail's visible text, never its `display:none` blocks), and codes and links come from the
 * same extraction the inbox ran at ingest. Only the attachment `want` is held in memory.
 */
export async function readFullMessage(raw: Buffer, subject: string, want?: number): Promise<FullMessage> {
  const parser = await newMimeParser();
  const parts = await new Promise<{
    text: string;
    html: string | undefined;
    attachments: FullAttachment[];
    content?: Buffer;
  }>((resolve, reject) => {
    let text = "";
    let html: string | undefined;
    const attachments: FullAttachment[] = [];
    const chunks: Buffer[] = [];
    let found = false;
    parser.on("data", (data) => {
      if (data.type === "text") {
        text = data.text ?? "";
        html = data.html || undefined;
        return;
      }
      const index = attachments.length;
      const info: FullAttachment = {
        index,
        filename: data.filename ?? null,
        contentType: data.contentType,
        size: 0,
      };
      if (index < MAX_ATTACHMENTS) attachments.push(info);
      if (index === want) found = true;
      data.content.on("data", (chunk: Buffer) => {
        info.size += chunk.length;
        if (index === want) chunks.push(chunk);
      });
      data.content.once("end", () => data.release?.());
      data.content.once("error", reject);
    });
    parser.once("error", reject);
    parser.once("end", () =>
      resolve({ text, html, attachments, ...(found ? { content: Buffer.concat(chunks) } : {}) }),
    );
    parser.end(raw);
  });
  const analysis = parts.html === undefined ? undefined : analyzeHtml(parts.html);
  const found = extract({ subject, text: parts.text, html: analysis });
  const full = parts.text.trim() ? neutralize(parts.text) : found.text;
  return {
    text: full.length > FULL_TEXT_CHARS ? full.slice(0, FULL_TEXT_CHARS) : full,
    truncated: full.length > FULL_TEXT_CHARS,
    codes: found.codes,
    links: found.links,
    html: parts.html,
    attachments: parts.attachments,
    ...(parts.content === undefined ? {} : { content: parts.content }),
  };
}
