import { Transform, type TransformCallback } from "node:stream";
import type { AddressObject, HeaderLines, Headers, MailParser as Parser } from "mailparser";

/** An attachment as the log records it: what it is, never its content. */
export interface AttachmentInfo {
  filename: string | null;
  contentType: string;
  size: number;
  inline: boolean;
}

/** What one pass of the MIME parser yields: headers, text and HTML, attachments' metadata. */
export interface MimeMessage {
  headers: Headers;
  headerLines: HeaderLines;
  /** The text/plain parts (HTML is never converted into it: that is the HTML reader's job). */
  text: string;
  html: string | undefined;
  attachments: AttachmentInfo[];
  /** Attachments beyond MAX_ATTACHMENTS, counted but not listed. */
  attachmentsOmitted: number;
}

/** Attachments listed per mail; a message of 10,000 tiny parts must not make a huge event. */
export const MAX_ATTACHMENTS = 100;

type ParserClass = typeof import("mailparser").MailParser;
let parserClass: Promise<ParserClass> | undefined;

/**
 * mailparser (with its charset tables) takes ~250 ms to load, so it is loaded on the first
 * mail, never at start-up: an idle MCP server stays quick and small.
 */
const loadParser = (): Promise<ParserClass> => {
  parserClass ??= import("mailparser").then((m) => m.MailParser);
  return parserClass;
};

/** A charset name no decoder knows, standing for "none declared: sniff the bytes". */
const SNIFF = "x-mail-events-sniff";

/**
 * A text part with no charset (or `us-ascii` while carrying 8-bit bytes) as mail clients read
 * it: UTF-8 when the bytes are valid UTF-8, else windows-1252 — never U+FFFD for `é`.
 */
class SniffDecoder extends Transform {
  private readonly chunks: Buffer[] = [];

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    this.chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    const bytes = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      done(null, bytes);
    } catch {
      done(null, Buffer.from(decodeWindows1252(bytes), "utf8"));
    }
  }
}

// windows-1252's 0x80–0x9f (where latin-1 has control characters); 0x81, 0x8d, 0x8f, 0x90
// and 0x9d are unassigned and stay as they are. Node 20's TextDecoder("windows-1252") decodes
// this range as latin-1, so the table is here.
const CP1252_HIGH = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ";

function decodeWindows1252(bytes: Buffer): string {
  const latin1 = bytes.toString("latin1");
  return latin1.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH.charAt(c.charCodeAt(0) - 0x80));
}

// mailparser's internals (typed `@internal`): each MIME node is made by `createNode`, and each
// declared charset is decoded by `decoder.decodeStream`. A text node with no charset is read
// as UTF-8 with bad bytes replaced; these two hooks send it through SniffDecoder instead.
// test/inbox-charset.test.ts fails loudly should a mailparser release move them.
interface ParserInternals {
  createNode(node: unknown): { contentType?: string; charset?: string; decoder?: unknown };
  decoder: { decodeStream(charset: string): Transform };
}

function sniffUndeclaredCharsets(parser: Parser): void {
  const internals = parser as unknown as ParserInternals;
  const createNode = internals.createNode.bind(parser);
  internals.createNode = (node) => {
    const made = createNode(node);
    const declared = made.charset?.toLowerCase().replace(/[^a-z0-9]/g, "");
    if (
      made.decoder !== undefined &&
      /^text\//i.test(made.contentType ?? "text/plain") &&
      (declared === undefined || declared === "usascii" || declared === "ascii")
    )
      made.charset = SNIFF;
    return made;
  };
  const decoder = internals.decoder;
  internals.decoder = {
    decodeStream: (charset) => (charset === SNIFF ? new SniffDecoder() : decoder.decodeStream(charset)),
  };
}

/**
 * A streaming MIME parser as every reader of a stored mail uses it: no HTML-to-text or
 * text-to-HTML conversion (the HTML reader does that, hidden-aware), no checksums, and text
 * parts without a declared charset sniffed as UTF-8 or windows-1252.
 */
export async function newMimeParser(): Promise<Parser> {
  const MailParser = await loadParser();
  const parser = new MailParser({
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    checksumAlgo: false,
  });
  sniffUndeclaredCharsets(parser);
  return parser;
}

/**
 * Parses a raw RFC 5322 message in one pass. Attachments are counted as they stream by and
 * never held: a 9 MB attachment costs its chunks in flight, not 9 MB of memory per mail.
 */
export async function readMime(raw: Buffer): Promise<MimeMessage> {
  const parser = await newMimeParser();
  return new Promise((resolve, reject) => {
    let headers: Headers = new Map();
    let text = "";
    let html: string | undefined;
    const attachments: AttachmentInfo[] = [];
    let attachmentsOmitted = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    parser.on("headers", (h: Headers) => {
      headers = h;
    });
    parser.on("data", (data) => {
      if (data.type === "text") {
        text = data.text ?? "";
        html = data.html;
        return;
      }
      const info: AttachmentInfo = {
        filename: data.filename ?? null,
        contentType: data.contentType,
        size: 0,
        inline: data.contentDisposition === "inline" || data.related === true,
      };
      if (attachments.length < MAX_ATTACHMENTS) attachments.push(info);
      else attachmentsOmitted++;
      data.content.on("data", (chunk: Buffer) => {
        info.size += chunk.length;
      });
      data.content.once("end", () => data.release?.());
      data.content.once("error", fail);
    });
    parser.once("error", fail);
    parser.once("end", () => {
      if (settled) return;
      settled = true;
      resolve({
        headers,
        headerLines: parser.headerLines || [],
        text,
        html,
        attachments,
        attachmentsOmitted,
      });
    });
    parser.end(raw);
  });
}

/** The addresses of a To/Cc/From header value (groups flattened), lower-cased. */
export function addresses(value: unknown): string[] {
  const objects = (Array.isArray(value) ? value : value === undefined ? [] : [value]) as AddressObject[];
  const out: string[] = [];
  for (const object of objects) {
    for (const entry of object?.value ?? []) {
      if (entry.address) out.push(entry.address.toLowerCase());
      // Group syntax ("team: a@x, b@y;") nests the members.
      for (const member of entry.group ?? []) if (member.address) out.push(member.address.toLowerCase());
    }
  }
  return out;
}
