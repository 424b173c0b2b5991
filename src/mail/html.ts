import { createRequire } from "node:module";
import type { compile as Compile } from "html-to-text";

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

interface Collector {
  anchors: Anchor[];
  prominent: string[];
  /** Classes the mail's stylesheet hides outside any media query (`.preheader{display:none}`). */
  hiddenClasses: Set<string>;
  /** Background of each open element (undefined: unknown); the last is the current one. */
  backgrounds: (string | undefined)[];
}

// html-to-text hands formatters domhandler nodes; only these fields are read.
interface DomNode {
  type: string;
  name?: string;
  data?: string;
  attribs?: Record<string, string>;
  children?: DomNode[];
}
interface Builder {
  metadata: Collector | undefined;
  openBlock(options: { leadingLineBreaks: number }): void;
  closeBlock(options: { trailingLineBreaks: number }): void;
  addInline(text: string, options?: { noWordTransform?: boolean }): void;
}
type Walk = (nodes: DomNode[] | undefined, builder: Builder) => void;
type FormatOptions = { leadingLineBreaks?: number; trailingLineBreaks?: number };

// Styles that hide preheaders and tracking blocks from the human reader; an agent should not
// see what the human cannot (that is where prompt-injection text would hide, too).
const HIDDEN_STYLE =
  /display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|mso-hide\s*:\s*all|max-(?:height|width)\s*:\s*0(?![.\d])|opacity\s*:\s*0?\.?0*(?![.\d]*[1-9])\s*(?:;|$|!)|font-size\s*:\s*(?:0(?:\.\d+)?|1)(?:px|pt)?\s*(?:;|$|!)|font-size\s*:\s*0(?:\.0*)?(?:[a-z%]+)?\s*(?:;|$|!)|(?:text-indent|left|top|margin-left|margin-top)\s*:\s*-\d{3,}|transform\s*:\s*scale\(\s*0(?:\.0+)?\s*[,)]|clip\s*:\s*rect\(\s*0|clip-path\s*:\s*inset\(\s*(?:50|100)%/i;
// A zero-sized box shows nothing only when its overflow is cut; "height:0" alone spills over.
const ZERO_BOX = /(?:^|[;\s])(?:height|width|line-height)\s*:\s*0(?:px|pt|em|%)?\s*(?:;|$|!)/i;
const OVERFLOW_HIDDEN = /overflow\s*:\s*hidden/i;
const COLOR = /(?:^|[;\s])color\s*:\s*([^;!]{1,40})/i;
const BACKGROUND = /background(?:-color)?\s*:\s*([^;!]{1,60})/i;
const PROMINENT_TAGS = new Set(["b", "strong", "code", "kbd", "samp", "tt", "pre", "h1", "h2", "h3", "h4"]);
const PROMINENT_STYLE =
  /font-size\s*:\s*(?:(?:1[89]|[2-9]\d|\d{3})(?:\.\d+)?px|(?:1[4-9]|[2-9]\d)(?:\.\d+)?pt|(?:1\.[3-9]|[2-9](?:\.\d+)?)(?:em|rem)|x+-?large|large)|font-weight\s*:\s*(?:bold|bolder|[6-9]00)|font-family\s*:[^;]{0,80}(?:mono|courier|consolas|menlo)|letter-spacing\s*:\s*(?:[1-9]|0?\.[2-9])/i;

const NAMED_COLORS: Record<string, string> = { white: "ffffff", black: "000000" };

/** A CSS colour as six hex digits (`#fff`, `white`, `rgb(255,255,255)`), else undefined. */
function colorKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  const named = NAMED_COLORS[v];
  if (named) return named;
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})\b/.exec(v)?.[1];
  if (hex) return hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
  const rgb = /^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:\)|,\s*1(?:\.0*)?\s*\))/.exec(v);
  if (rgb)
    return rgb
      .slice(1, 4)
      .map((n) => Number(n).toString(16).padStart(2, "0"))
      .join("");
  return undefined;
}

const backgroundOf = (elem: DomNode): string | undefined => {
  const style = elem.attribs?.style;
  const fromStyle =
    style && style.length < 2_000 ? BACKGROUND.exec(style)?.[1]?.trim().split(/\s+/)[0] : undefined;
  return colorKey(fromStyle ?? elem.attribs?.bgcolor);
};

const colorOf = (elem: DomNode): string | undefined => {
  const style = elem.attribs?.style;
  const fromStyle = style && style.length < 2_000 ? COLOR.exec(style)?.[1] : undefined;
  return colorKey(fromStyle ?? (elem.name === "font" ? elem.attribs?.color : undefined));
};

/**
 * Hidden from a person reading the mail: the `hidden` and `aria-hidden` attributes, a hiding
 * inline style, a class the mail's own stylesheet hides, or text coloured as its background.
 */
const isHidden = (elem: DomNode, collector: Collector | undefined): boolean => {
  const attribs = elem.attribs;
  if (!attribs) return false;
  if (attribs.hidden !== undefined || attribs["aria-hidden"]?.trim().toLowerCase() === "true") return true;
  const style = attribs.style;
  if (style !== undefined && style.length < 2_000) {
    if (HIDDEN_STYLE.test(style) || (ZERO_BOX.test(style) && OVERFLOW_HIDDEN.test(style))) return true;
  }
  if (collector && collector.hiddenClasses.size > 0 && attribs.class) {
    for (const name of attribs.class.slice(0, 500).split(/\s+/))
      if (collector.hiddenClasses.has(name)) return true;
  }
  if (collector) {
    const color = colorOf(elem);
    if (color !== undefined && color === backgroundFor(elem, collector)) return true;
  }
  return false;
};

/**
 * The background a child is drawn on: its own inline one, else its parent's. A class may set
 * one this reader does not follow, so below a classed element the background is unknown.
 */
const backgroundFor = (elem: DomNode, collector: Collector): string | undefined =>
  backgroundOf(elem) ?? (elem.attribs?.class ? undefined : collector.backgrounds.at(-1));

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

/** Stylesheet text read for hidden classes; a real mail's `<style>` is a few KB. */
const MAX_STYLE_CHARS = 100_000;

/**
 * Class names that the mail's `<style>` blocks hide at the top level (`.preheader { display:
 * none }`). Rules inside `@media` only hide on some screens, so they are skipped. One pass over
 * the stylesheet, tracking brace depth: linear whatever it holds.
 */
function hiddenClasses(html: string): Set<string> {
  const out = new Set<string>();
  let css = "";
  for (const m of html.matchAll(/<style\b[^<>]{0,500}>/gi)) {
    const from = m.index + m[0].length;
    const end = html.indexOf("</style", from);
    css += `${html.slice(from, end === -1 ? from + MAX_STYLE_CHARS : end)}\n`;
    if (css.length > MAX_STYLE_CHARS) break;
  }
  let depth = 0;
  let atRule = false;
  let selector = "";
  let declarations = "";
  for (let i = 0; i < Math.min(css.length, MAX_STYLE_CHARS); i++) {
    const c = css[i];
    if (c === "/" && css[i + 1] === "*") {
      const close = css.indexOf("*/", i + 2);
      i = close === -1 ? css.length : close + 1;
    } else if (c === "{") {
      if (depth === 0) atRule = selector.trim().startsWith("@");
      depth++;
      declarations = "";
    } else if (c === "}") {
      if (depth === 1 && !atRule && HIDDEN_STYLE.test(declarations))
        for (const part of selector.split(",")) {
          const name = /^[a-z0-9]*\.([-\w]{1,100})$/i.exec(part.trim())?.[1];
          if (name) out.add(name);
        }
      depth = Math.max(0, depth - 1);
      if (depth === 0) selector = "";
      declarations = "";
    } else if (depth === 0) {
      if (selector.length < 2_000) selector += c;
    } else if (declarations.length < 2_000) declarations += c;
  }
  return out;
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
