import { createRequire } from "node:module";
import type { compile as Compile } from "html-to-text";
import { anchor, block, blockTags, type Collector, headingTags, inline } from "./html-format.js";
import { hiddenClasses } from "./html-hidden.js";

// html-to-text and its HTML parser (~200 KB) are not needed to answer the MCP handshake: they
// load in the background once the client is initialized (`preloadHtml`, from main.ts), or
// synchronously on first use if an email needs them sooner (SPEC §7 cold start).
let compileHtml: typeof Compile | undefined;
let preloading: Promise<void> | undefined;

export function preloadHtml(): Promise<void> {
  preloading ??= import("html-to-text").then((m) => {
    compileHtml ??= m.compile;
  });
  return preloading;
}

function loadCompile(): typeof Compile {
  compileHtml ??= (createRequire(import.meta.url)("html-to-text") as typeof import("html-to-text")).compile;
  return compileHtml;
}

/** Longest HTML we parse; beyond this a body is cut before parsing (1 MB of text is plenty). */
const MAX_HTML_CHARS = 2_000_000;

/** One `<a href>` with the text a reader sees on it. */
export interface Anchor {
  href: string;
  text: string;
  /** The anchor shows only an image of at most 1×1 pixel (a tracking pixel). */
  pixel: boolean;
}

/** What one parse of an HTML body yields. */
export interface HtmlAnalysis {
  /** Readable text: scripts, styles and hidden preheaders dropped; tables linearised. */
  text: string;
  /** Anchors in document order. */
  anchors: Anchor[];
  /** Short texts set in large, bold or monospace type (where senders put a code). */
  prominent: string[];
}

type Converter = (html: string, metadata: Collector) => string;

// Compiled once, on first use: html-to-text builds its selector decision tree here, not per
// email — and not at start-up, where it would delay the MCP handshake (SPEC §7 cold start).
// The typings lag the library: the compiled function takes per-call metadata (our collector).
let compiled: Converter | undefined;
const convert: Converter = (html, metadata) => {
  compiled ??= compileConverter();
  return compiled(html, metadata);
};

const compileConverter = (): Converter =>
  loadCompile()({
    wordwrap: false,
    decodeEntities: true,
    limits: { maxInputLength: MAX_HTML_CHARS, maxDepth: 200, maxChildNodes: 5_000, ellipsis: "…" },
    formatters: { mailBlock: block, mailInline: inline, mailAnchor: anchor } as never,
    selectors: [
      { selector: "*", format: "mailInline" },
      { selector: "a", format: "mailAnchor" },
      { selector: "img", format: "skip" },
      ...["head", "style", "script", "title", "noscript", "template", "svg", "object", "iframe"].map(
        (selector) => ({
          selector,
          format: "skip",
        }),
      ),
      ...blockTags.map((selector) => ({ selector, format: "mailBlock" })),
      ...headingTags.map((selector) => ({
        selector,
        format: "mailBlock",
        options: { leadingLineBreaks: 2, trailingLineBreaks: 2 },
      })),
      { selector: "p", format: "mailBlock", options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
      { selector: "br", format: "lineBreak" },
      { selector: "hr", format: "horizontalLine", options: { length: 20 } },
      { selector: "pre", format: "pre" },
    ],
  }) as unknown as Converter;

/**
 * Tags parsed per email. htmlparser2 keeps its open-element stack with `Array#unshift`, so
 * deeply nested markup costs time quadratic in depth (333k nested `<b>` took 45 s); a real
 * email has a few thousand tags, and cutting at this many bounds the worst case to ~0.1 s.
 */
const MAX_HTML_TAGS = 30_000;

/** The HTML cut before its MAX_HTML_TAGS-th tag and at MAX_HTML_CHARS. */
function bounded(html: string): string {
  let at = -1;
  for (let tags = 0; tags < MAX_HTML_TAGS; tags++) {
    at = html.indexOf("<", at + 1);
    if (at === -1 || at >= MAX_HTML_CHARS)
      return html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;
  }
  return html.slice(0, at);
}

/** Parses an HTML body once into readable text, its anchors and its prominent short texts. */
export function analyzeHtml(html: string): HtmlAnalysis {
  const input = bounded(html);
  const collector: Collector = {
    anchors: [],
    prominent: [],
    hiddenClasses: hiddenClasses(input),
    backgrounds: [],
  };
  let text: string;
  try {
    text = convert(input, collector);
  } catch {
    // The parser is forgiving; this only guards against a formatter edge case. Fall back to
    // tag stripping so a strange email still yields something.
    text = html.slice(0, MAX_HTML_CHARS).replace(/<[^<>]{0,2000}>/g, " ");
  }
  return { text: tidy(text), anchors: collector.anchors, prominent: collector.prominent };
}

/** Collapses the blank lines and trailing spaces layout tables leave behind. */
export function tidy(text: string): string {
  // Line by line rather than /[ \t]+\n/g: that pattern is quadratic on a long run of spaces.
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

const analyses = new WeakMap<object, { html: string; analysis: HtmlAnalysis }>();

/**
 * `analyzeHtml`, remembered per owning object (an event's email): a wait filters an email
 * by its HTML text and then digests it, and should parse it once.
 */
export function analyzeHtmlOf(owner: object, html: string): HtmlAnalysis {
  const hit = analyses.get(owner);
  if (hit !== undefined && hit.html === html) return hit.analysis;
  const analysis = analyzeHtml(html);
  analyses.set(owner, { html, analysis });
  return analysis;
}
