import type { Anchor } from "./html.js";
import { backgroundFor, type DomNode, type HiddenContext, isHidden } from "./html-hidden.js";

// html-to-text formatters: what a reader sees of each element (hidden ones skipped), and the
// anchors and prominent short texts collected on the way.

/** Anchors recorded per email; a newsletter has dozens, an attack could have millions. */
const MAX_ANCHORS = 300;
/** Prominent strings recorded per email; only short ones can be codes. */
const MAX_PROMINENT = 100;
const MAX_PROMINENT_CHARS = 40;

export interface Collector extends HiddenContext {
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

export function block(elem: DomNode, walk: Walk, builder: Builder, options: FormatOptions): void {
  if (isHidden(elem, builder.metadata)) return;
  notice(elem, builder);
  builder.openBlock({ leadingLineBreaks: options.leadingLineBreaks ?? 1 });
  walkWithin(elem, walk, builder);
  builder.closeBlock({ trailingLineBreaks: options.trailingLineBreaks ?? 1 });
}

export function inline(elem: DomNode, walk: Walk, builder: Builder): void {
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
export function anchor(elem: DomNode, walk: Walk, builder: Builder): void {
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

export const blockTags = ["div", "table", "tbody", "thead", "tfoot", "tr", "td", "th", "li", "ul", "ol"];
export const headingTags = [
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "section",
  "article",
  "header",
  "footer",
  "center",
];
