/** The inbox page's markup: a list of mail beside one mail's view. Script and style are separate files (strict CSP). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local inbox · mail-events-mcp</title>
<link rel="stylesheet" href="/inbox.css">
<script type="module" src="/inbox.js"></script>
</head>
<body>
<header class="bar">
  <h1>Local inbox</h1>
  <form id="filter" class="filter" role="search">
    <label for="identity">Identity</label>
    <input id="identity" name="identity" value="*" spellcheck="false" autocomplete="off"
      title="An address, *@domain, or * for all mail. me@d also shows me+tag@d. Press / to focus.">
    <button type="submit">Show</button>
  </form>
  <span id="status" class="status" aria-live="polite">connecting…</span>
  <button id="clear" class="danger" type="button" title="Delete every mail this identity shows">Clear</button>
</header>
<main class="panes">
  <nav class="list" aria-label="Mail, newest first">
    <p id="count" class="muted"></p>
    <ol id="mails"></ol>
    <p id="empty" class="empty">No mail yet. Send some to this inbox's SMTP port.</p>
  </nav>
  <section id="view" class="view" aria-live="polite" hidden>
    <h2 id="subject"></h2>
    <dl class="meta">
      <dt>From</dt><dd id="from"></dd>
      <dt>To</dt><dd id="to"></dd>
      <dt id="cc-label">Cc</dt><dd id="cc"></dd>
      <dt>Received</dt><dd id="received"></dd>
    </dl>
    <div id="codes" class="codes"></div>
    <ul id="links" class="links"></ul>
    <ul id="attachments" class="attachments"></ul>
    <div class="tabs" role="tablist">
      <button role="tab" data-tab="text" aria-selected="true">Text</button>
      <button role="tab" data-tab="html" aria-selected="false">HTML</button>
      <button role="tab" data-tab="headers" aria-selected="false">Headers</button>
      <button role="tab" data-tab="raw" aria-selected="false">Raw</button>
    </div>
    <pre id="tab-text" class="tab body" role="tabpanel"></pre>
    <iframe id="tab-html" class="tab html" title="HTML body (sandboxed: no scripts, nothing remote)" sandbox referrerpolicy="no-referrer" hidden></iframe>
    <table id="tab-headers" class="tab headers" role="tabpanel" hidden><tbody></tbody></table>
    <pre id="tab-raw" class="tab raw" role="tabpanel" hidden></pre>
  </section>
  <section id="placeholder" class="view placeholder"><p>Pick a mail (↑/↓ or j/k, Enter).</p></section>
</main>
</body>
</html>
`;
