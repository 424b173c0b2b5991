import { createRequire } from "node:module";
import type { compile as Compile } from "html-to-text";
import { backgroundFor, type DomNode, type HiddenContext, hiddenClasses, isHidden } from "./html-hidden.js";

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
export const MAX_HTML_CHARS = 2_000_000;
/** Anchors recorded per email; a newsletter has dozens, an attack could have millions. */
const MAX_ANCHORS = 300;
/** Prominent strings recorded per email; only short ones can be codes. */
const MAX_PROMINENT = 100;
const MAX_PROMINENT_CHARS = 40;

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

interface Collector extends HiddenContext {
  anchors: Anchor[];
  prominent: string[];
}

interface Builder {
  metadata: Collector | undefined;
  openBlock(options: { leadingLineBreaks: number }): void;
  closeBlock(options: { trailingLineBreaks: number }): void;
  addInline(text: string, options?: { noWordTransform?: boolean }): void;
}
type Walk = (nodes: DomNode[] | undefined, builder: Builder) => void;
type FormatOptions = { leadingLineBreaks?: number; trailingLineBreaks?: number };

const PROMINENT_TAGS = new Set(["b", "strong", "code", "kbd", "samp", "tt", "pre", "h1", "h2", "h3", "h4"]);
const PROMINENT_STYLE =
  /font-size\s*:\s*(?:(?:1[89]|[2-9]\d|\d{3})(?:\.\d+)?px|(?:1[4-9]|[2-9]\d)(?:\.\d+)?pt|(?:1\.[3-9]|[2-9](?:\.\d+)?)(?:em|rem)|x+-?large|large)|font-weight\s*:\s*(?:bold|bolder|[6-9]00)|font-family\s*:[^;]{0,80}(?:mono|courier|consolas|menlo)|letter-spacing\s*:\s*(?:[1-9]|0?\.[2-9])/i;

/** Walks the children with the element's background in view (for the colour test). */
function walkWithin(elem: DomNode, walk: Walk, builder: Builder): void {
  const collector = builder.metadata;
  if (!collector) {
    walk(elem.children, builder);
    return;
  }
  collector.backgrounds.push(backgroundFor(elem, collector));
  try {
    walk(elem.children, builder);
  } finally {
    collector.backgrounds.pop();
  }
}

const isProminent = (elem: DomNode): boolean => {
  if (elem.name !== undefined && PROMINENT_TAGS.has(elem.name)) return true;
  const style = elem.attribs?.style;
  return style !== undefined && style.length < 2_000 && PROMINENT_STYLE.test(style);
};

/** The visible text inside a node, bounded: we only want short strings. */
function innerText(
  nodes: DomNode[] | undefined,
  limit: number,
  collector: Collector | undefined,
  depth = 0,
): string {
  let out = "";
  for (const node of nodes ?? []) {
    if (out.length > limit || depth > 20) break;
    if (node.type === "text") out += node.data ?? "";
    else if (node.type === "tag" && !isHidden(node, collector))
      out += innerText(node.children, limit - out.length, collector, depth + 1);
  }
  return out;
}

function notice(elem: DomNode, builder: Builder): void {
  const collector = builder.metadata;
  if (!collector || collector.prominent.length >= MAX_PROMINENT || !isProminent(elem)) return;
  const text = innerText(elem.children, MAX_PROMINENT_CHARS, collector).replace(/\s+/g, " ").trim();
  if (text !== "" && text.length <= MAX_PROMINENT_CHARS) collector.prominent.push(text);
}

function block(elem: DomNode, walk: Walk, builder: Builder, options: FormatOptions): void {
  if (isHidden(elem, builder.metadata)) return;
  notice(elem, builder);
  builder.openBlock({ leadingLineBreaks: options.leadingLineBreaks ?? 1 });
  walkWithin(elem, walk, builder);
  builder.closeBlock({ trailingLineBreaks: options.trailingLineBreaks ?? 1 });
}

function inline(elem: DomNode, walk: Walk, builder: Builder): void {
  if (isHidden(elem, builder.metadata)) return;
  notice(elem, builder);
  walkWithin(elem, walk, builder);
}

const isPixelImage = (node: DomNode): boolean => {
  const { width, height, style } = node.attribs ?? {};
  const tiny = (v: string | undefined) => v !== undefined && /^\s*[01](?:px)?\s*$/.test(v);
  return (tiny(width) && tiny(height)) || (style !== undefined && /width\s*:\s*[01]px/i.test(style));
};

function onlyPixels(nodes: DomNode[] | undefined, depth = 0): boolean {
  if (depth > 10) return false;
  let images = 0;
  for (const node of nodes ?? []) {
    if (node.type === "text" && (node.data ?? "").trim() !== "") return false;
    if (node.type !== "tag") continue;
    if (node.name === "img") {
      if (!isPixelImage(node)) return false;
      images++;
    } else if (!onlyPixels(node.children, depth + 1)) return false;
  }
  return images > 0;
}

/**
 * Anchors are recorded with their text and shown as text only: links are listed separately
 * (ranked, tracking stripped), and long tracking URLs would eat the agent's text budget.
 */
function anchor(elem: DomNode, walk: Walk, builder: Builder): void {
  if (isHidden(elem, builder.metadata)) return;
  notice(elem, builder);
  const href = elem.attribs?.href?.trim();
  const collector = builder.metadata;
  if (href && collector && collector.anchors.length < MAX_ANCHORS) {
    const text = innerText(elem.children, 200, collector).replace(/\s+/g, " ").trim();
    const alt = text === "" ? (firstAlt(elem.children) ?? "") : text;
    collector.anchors.push({ href, text: alt, pixel: onlyPixels(elem.children) });
  }
  walkWithin(elem, walk, builder);
}

function firstAlt(nodes: DomNode[] | undefined, depth = 0): string | undefined {
  for (const node of nodes ?? []) {
    if (depth > 10) return undefined;
    if (node.name === "img" && node.attribs?.alt) return node.attribs.alt.trim();
    const inner = firstAlt(node.children, depth + 1);
    if (inner) return inner;
  }
  return undefined;
}

const blockTags = ["div", "table", "tbody", "thead", "tfoot", "tr", "td", "th", "li", "ul", "ol"];
const headingTags = ["h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer", "center"];

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
export const MAX_HTML_TAGS = 30_000;

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
