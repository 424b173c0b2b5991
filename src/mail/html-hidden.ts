/**
 * What a person reading an HTML mail never sees: blocks hidden by attribute, by inline style,
 * by the mail's own stylesheet, or by text coloured as its background. Nothing hidden may
 * reach an agent (that is where preheaders, trackers and prompt injections hide).
 */

/** The fields of a domhandler node (what html-to-text hands its formatters) read here. */
export interface DomNode {
  type: string;
  name?: string;
  data?: string;
  attribs?: Record<string, string>;
  children?: DomNode[];
}

/** What one parse knows about hiding: the stylesheet's hidden classes, the open backgrounds. */
export interface HiddenContext {
  /** Classes the mail's stylesheet hides outside any media query (`.preheader{display:none}`). */
  hiddenClasses: Set<string>;
  /** Background of each open element (undefined: unknown); the last is the current one. */
  backgrounds: (string | undefined)[];
}

// Styles that hide preheaders and tracking blocks from the human reader; an agent should not
// see what the human cannot (that is where prompt-injection text would hide, too).
const HIDDEN_STYLE =
  /display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|mso-hide\s*:\s*all|max-(?:height|width)\s*:\s*0(?![.\d])|opacity\s*:\s*0?\.?0*(?![.\d]*[1-9])\s*(?:;|$|!)|font-size\s*:\s*(?:0(?:\.\d+)?|1)(?:px|pt)?\s*(?:;|$|!)|font-size\s*:\s*0(?:\.0*)?(?:[a-z%]+)?\s*(?:;|$|!)|(?:text-indent|left|top|margin-left|margin-top)\s*:\s*-\d{3,}|transform\s*:\s*scale\(\s*0(?:\.0+)?\s*[,)]|clip\s*:\s*rect\(\s*0|clip-path\s*:\s*inset\(\s*(?:50|100)%/i;
// A zero-sized box shows nothing only when its overflow is cut; "height:0" alone spills over.
const ZERO_BOX = /(?:^|[;\s])(?:height|width|line-height)\s*:\s*0(?:px|pt|em|%)?\s*(?:;|$|!)/i;
const OVERFLOW_HIDDEN = /overflow\s*:\s*hidden/i;
const COLOR = /(?:^|[;\s])color\s*:\s*([^;!]{1,40})/i;
const BACKGROUND = /background(?:-color)?\s*:\s*([^;!]{1,60})/i;
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
export const isHidden = (elem: DomNode, collector: HiddenContext | undefined): boolean => {
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
export const backgroundFor = (elem: DomNode, collector: HiddenContext): string | undefined =>
  backgroundOf(elem) ?? (elem.attribs?.class ? undefined : collector.backgrounds.at(-1));

/** Stylesheet text read for hidden classes; a real mail's `<style>` is a few KB. */
const MAX_STYLE_CHARS = 100_000;

/**
 * Class names that the mail's `<style>` blocks hide at the top level (`.preheader { display:
 * none }`). Rules inside `@media` only hide on some screens, so they are skipped. One pass over
 * the stylesheet, tracking brace depth: linear whatever it holds.
 */
export function hiddenClasses(html: string): Set<string> {
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
