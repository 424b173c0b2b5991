/**
 * The inbox page's one module: the list (newest first), live over the cursor endpoint's
 * long-poll, one mail's view, and clearing. Everything from a mail goes in through
 * textContent (never innerHTML); its HTML only into a sandboxed srcdoc frame under a CSP that allows no
 * script and nothing remote.
 */
export const PAGE_JS = String.raw`
const $ = (id) => document.getElementById(id);
const FRAME_CSP = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">';
const HEADERS = { "x-mail-events": "1" };
let identity = new URLSearchParams(location.search).get("identity") || "*";
let rows = [];
let selected = null;

const el = (tag, props, ...kids) => {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const kid of kids) if (kid != null) node.append(kid);
  return node;
};
const time = (iso) => {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
};
const api = async (path, init) => {
  const res = await fetch(path, Object.assign({ headers: HEADERS, cache: "no-store" }, init || {}));
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
  return res;
};

function render() {
  const list = $("mails");
  list.replaceChildren(...rows.map((m) => {
    const button = el("button", { type: "button" },
      el("div", { className: "row-top" }, el("span", { textContent: m.from || "(no sender)" }), el("time", { textContent: time(m.receivedAt) })),
      el("div", { className: "row-subject", textContent: m.subject || "(no subject)" }),
      el("div", { className: "row-top" }, el("span", { textContent: (m.to || []).join(", ") }),
        m.codes && m.codes[0] ? el("span", { className: "row-code", textContent: m.codes[0] }) : null));
    button.dataset.id = m.id;
    if (m.id === selected) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => open(m.id));
    const li = el("li", {}, button);
    if (m.fresh) { li.className = "fresh"; m.fresh = false; }
    return li;
  }));
  $("empty").hidden = rows.length > 0;
  $("count").textContent = rows.length === 1 ? "1 mail" : rows.length + " mails";
  $("clear").textContent = identity === "*" ? "Clear all" : "Clear " + identity;
}

function add(mail) {
  if (rows.some((m) => m.id === mail.id)) return;
  rows.push(mail);
  rows.sort((a, b) => b.seq - a.seq);
  render();
}

const status = (text, live) => { $("status").textContent = text; $("status").className = live ? "status live" : "status"; };
const summary = (e) => ({ id: e.id, seq: e.seq, from: e.data.from, to: e.data.to, subject: e.data.subject,
  receivedAt: e.tsIso, codes: e.data.codes || [], fresh: true });

// Live updates by long-polling the cursor endpoint: seq-based, so nothing is lost between two
// polls, and the next poll starts at once (an EventSource waits seconds before reconnecting).
let polling = null;
async function follow(since) {
  if (polling) polling.abort();
  const controller = new AbortController();
  polling = controller;
  let cursor = since;
  let wait = 0; // the first poll answers at once, so the page can say it is connected
  while (!controller.signal.aborted) {
    try {
      const res = await fetch("/v1/identities/" + encodeURIComponent(identity) + "/events?limit=200&timeoutMs=" + wait + "&since=" + cursor,
        { signal: controller.signal, cache: "no-store" });
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
      const page = await res.json();
      status("live", true);
      for (const e of page.events) if (e.type === "email.received") add(summary(e));
      cursor = page.cursor;
      wait = page.hasMore ? 0 : 25000;
    } catch (error) {
      if (controller.signal.aborted) return;
      status("offline: " + (error.message || error) + " — retrying", false);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function load() {
  const res = await api("/v1/messages?limit=500&identity=" + encodeURIComponent(identity));
  const body = await res.json();
  rows = body.messages;
  render();
  // From the newest listed seq, not the log's head: a mail still being written has a seq past it.
  follow(rows.length > 0 ? Math.max(...rows.map((m) => m.seq)) : 0);
}

function tab(name) {
  for (const b of document.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const t of ["text", "html", "headers", "raw"]) $("tab-" + t).hidden = t !== name;
  if (name === "raw" && selected && !$("tab-raw").dataset.loaded) {
    const id = selected;
    api("/v1/messages/" + encodeURIComponent(id) + "/raw").then((r) => r.text()).then((text) => {
      if (selected !== id) return;
      $("tab-raw").textContent = text;
      $("tab-raw").dataset.loaded = "1";
    });
  }
}

async function open(id) {
  selected = id;
  for (const b of document.querySelectorAll("#mails button")) b.setAttribute("aria-current", String(b.dataset.id === id));
  const { email, html } = await (await api("/v1/messages/" + encodeURIComponent(id))).json();
  if (selected !== id) return;
  $("placeholder").hidden = true;
  $("view").hidden = false;
  $("subject").textContent = email.subject || "(no subject)";
  $("from").textContent = email.from;
  $("to").textContent = email.to.join(", ");
  $("cc").textContent = email.cc.join(", ");
  $("cc").hidden = $("cc-label").hidden = email.cc.length === 0;
  $("received").textContent = time(email.receivedAt);
  $("codes").replaceChildren(...email.codes.map((code) => {
    const copy = el("button", { type: "button", textContent: "Copy", title: "Copy " + code });
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(code); copy.textContent = "Copied"; }
      catch { const r = document.createRange(); r.selectNodeContents(span); getSelection().removeAllRanges(); getSelection().addRange(r); copy.textContent = "Selected"; }
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    });
    const span = el("span", { className: "code-value", textContent: code });
    return el("span", { className: "code" }, span, copy);
  }));
  // Only web links become clickable: a javascript: URL from a mail would run in this page.
  $("links").replaceChildren(...email.links.map((href) => el("li", {}, /^https?:\/\//i.test(href)
    ? el("a", { href, textContent: href, target: "_blank", rel: "noopener noreferrer" })
    : el("span", { textContent: href }))));
  $("attachments").replaceChildren(...email.attachments.map((a) =>
    el("li", {}, el("a", { href: a.url, textContent: (a.filename || "attachment-" + a.index), download: a.filename || "" }),
      " " + a.contentType + ", " + a.size.toLocaleString() + " bytes")));
  $("tab-text").textContent = email.text + (email.truncated ? "\n\n[… cut at 100,000 characters; see Raw]" : "");
  $("tab-html").srcdoc = html ? FRAME_CSP + html : FRAME_CSP + "<p style='font:14px sans-serif;color:#667085'>This mail has no HTML part.</p>";
  const headers = $("tab-headers").tBodies[0];
  headers.replaceChildren(...Object.entries(email.headers).map(([k, v]) => el("tr", {}, el("th", { textContent: k }), el("td", { textContent: v }))));
  $("tab-raw").textContent = "";
  delete $("tab-raw").dataset.loaded;
  tab(html ? "html" : "text");
}

$("filter").addEventListener("submit", (event) => {
  event.preventDefault();
  identity = $("identity").value.trim().toLowerCase() || "*";
  const url = new URL(location.href);
  url.searchParams.set("identity", identity);
  history.replaceState(null, "", url);
  rows = [];
  render();
  load();
});
$("clear").addEventListener("click", async () => {
  await api("/v1/identities/" + encodeURIComponent(identity) + "/messages", { method: "DELETE" });
  rows = [];
  selected = null;
  $("view").hidden = true;
  $("placeholder").hidden = false;
  render();
});
for (const b of document.querySelectorAll("[role=tab]")) b.addEventListener("click", () => tab(b.dataset.tab));
document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement || event.metaKey || event.ctrlKey || event.altKey) return;
  if (event.key === "/") { event.preventDefault(); $("identity").focus(); $("identity").select(); return; }
  const step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[event.key];
  if (step === undefined || rows.length === 0) return;
  event.preventDefault();
  const at = rows.findIndex((m) => m.id === selected);
  const next = rows[Math.min(rows.length - 1, Math.max(0, at + step))];
  open(next.id);
  document.querySelector("#mails button[data-id='" + CSS.escape(next.id) + "']")?.focus();
});
$("identity").value = identity;
load().catch((error) => status(String(error.message || error), false));
`;
