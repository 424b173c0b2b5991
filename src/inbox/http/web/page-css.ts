/** The inbox page's style: readable, light and dark, no web fonts. */
export const PAGE_CSS = `
:root { color-scheme: light dark; --bg:#fff; --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --sel:#eef4ff;
  --accent:#2563eb; --code:#f2f4f7; --danger:#b42318; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --bg:#14161b; --fg:#e6e8ec; --muted:#98a2b3; --line:#2a2f3a;
  --sel:#1e2a44; --accent:#7aa2ff; --code:#1f232b; --danger:#ff8a80; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin:0; background:var(--bg); color:var(--fg); height:100vh; display:flex; flex-direction:column; }
.bar { display:flex; gap:1rem; align-items:center; padding:.6rem 1rem; border-bottom:1px solid var(--line); flex-wrap:wrap; }
.bar h1 { font-size:1.05rem; margin:0; }
.filter { display:flex; gap:.4rem; align-items:center; flex:1; min-width:16rem; }
.filter label { color:var(--muted); }
input, button { font:inherit; color:inherit; }
input { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:.3rem .5rem; flex:1; max-width:26rem; }
button { background:var(--code); border:1px solid var(--line); border-radius:6px; padding:.3rem .7rem; cursor:pointer; }
button:hover { border-color:var(--accent); }
:focus-visible { outline:2px solid var(--accent); outline-offset:1px; }
.danger { color:var(--danger); }
.status { color:var(--muted); font-size:.85rem; }
.status.live::before { content:"● "; color:#12b76a; }
.panes { flex:1; display:grid; grid-template-columns:minmax(18rem, 30%) 1fr; min-height:0; }
.list { border-right:1px solid var(--line); overflow:auto; }
.list ol { list-style:none; margin:0; padding:0; }
.list li button { display:block; width:100%; text-align:left; border:0; border-bottom:1px solid var(--line);
  border-radius:0; background:none; padding:.55rem .9rem; }
.list li button[aria-current="true"] { background:var(--sel); }
.row-top { display:flex; justify-content:space-between; gap:.5rem; font-size:.85rem; color:var(--muted); }
.row-subject { font-weight:600; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.row-code { font-family:ui-monospace, monospace; background:var(--code); border-radius:4px; padding:0 .3rem; }
.fresh { animation: fresh 1.2s ease-out; }
@keyframes fresh { from { background:var(--sel); } to { background:none; } }
.muted, .empty { color:var(--muted); padding:0 .9rem; font-size:.85rem; }
.view { overflow:auto; padding:1rem 1.4rem; display:flex; flex-direction:column; gap:.6rem; min-width:0; }
.view h2 { margin:0; font-size:1.2rem; word-break:break-word; }
.placeholder { color:var(--muted); justify-content:center; align-items:center; }
.meta { display:grid; grid-template-columns:max-content 1fr; gap:.1rem .8rem; margin:0; font-size:.9rem; }
.meta dt { color:var(--muted); } .meta dd { margin:0; word-break:break-all; }
.codes { display:flex; gap:.5rem; flex-wrap:wrap; }
.code { display:inline-flex; gap:.4rem; align-items:center; font:600 1.15rem ui-monospace, monospace;
  background:var(--code); border:1px solid var(--line); border-radius:6px; padding:.2rem .3rem .2rem .6rem; }
.code button { font-size:.8rem; }
.links, .attachments { margin:0; padding-left:1.2rem; font-size:.9rem; word-break:break-all; }
a { color:var(--accent); }
.tabs { display:flex; gap:.3rem; border-bottom:1px solid var(--line); padding-bottom:.4rem; }
.tabs [aria-selected="true"] { border-color:var(--accent); color:var(--accent); }
.tab { margin:0; flex:1; min-height:12rem; }
pre.tab { white-space:pre-wrap; word-break:break-word; font:13.5px/1.5 ui-monospace, monospace; }
iframe.tab { border:1px solid var(--line); border-radius:6px; background:#fff; width:100%; min-height:28rem; }
.headers { border-collapse:collapse; font-size:.85rem; align-self:flex-start; }
.headers th { text-align:left; color:var(--muted); padding:.15rem .8rem .15rem 0; vertical-align:top; white-space:nowrap; }
.headers td { word-break:break-all; font-family:ui-monospace, monospace; }
@media (max-width: 720px) { .panes { grid-template-columns:1fr; } .list { max-height:40vh; border-right:0; border-bottom:1px solid var(--line); } }
`;
