import { createHash } from 'node:crypto';

// The inspector page: plain HTML, CSS and a script, no dependency and no
// network beyond its own WebSocket. It lives in a .ts module so `tsc` ships it
// in dist/ with the rest. The script avoids template literals on purpose: it
// sits inside one.

const STYLE = `
:root { --fg: #1d2433; --muted: #6b7386; --line: #d8dce6; --accent: #0b7a5a; --accent-bg: #e3f7ef; --warn: #a4411b; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: #f6f7fa; }
header { display: flex; gap: 16px; align-items: baseline; padding: 10px 16px; background: #1d2433; color: #fff; }
header h1 { font-size: 15px; margin: 0; }
header .muted { color: #aab2c5; }
#status.live { color: #7fe0b8; }
main { display: grid; grid-template-columns: minmax(520px, 1fr) minmax(420px, 1fr); gap: 12px; padding: 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.state { font-family: ui-monospace, monospace; white-space: normal; min-width: 12em; }
td.state .sub { color: var(--muted); }
tbody tr { cursor: pointer; }
tbody tr:hover { background: #f0f2f7; }
tbody tr.selected { background: var(--accent-bg); }
tr[data-state="closed"] { color: var(--muted); }
tr[data-state="closed"] td.state { color: var(--warn); }
.muted { color: var(--muted); }
h2 { font-size: 14px; margin: 4px 0 8px; }
h3 { font-size: 12px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
#meta { font-family: ui-monospace, monospace; color: var(--muted); }
.st { border: 1px solid #b8bfcc; border-radius: 8px; padding: 4px 6px; margin: 4px; background: #fff; min-width: 90px; }
.st > .name { font-weight: 600; font-family: ui-monospace, monospace; }
.st > .name .initial { color: var(--muted); font-weight: 400; }
.st.final { border: 3px double #8a93a6; }
.st.active { border-color: var(--accent); background: var(--accent-bg); box-shadow: 0 0 0 1px var(--accent); }
.st.active > .name { color: var(--accent); }
.st.root { border-style: dashed; }
.st.root.active { background: #fff; box-shadow: none; }
.kids { display: flex; flex-wrap: wrap; align-items: flex-start; }
.parallel > .kids > .st { border-style: dashed; }
.tr { list-style: none; margin: 2px 0; padding: 0; font-size: 11px; color: var(--muted); font-family: ui-monospace, monospace; }
#events { margin: 0; padding-left: 0; list-style: none; font-family: ui-monospace, monospace; font-size: 12px; }
#events li { padding: 1px 0; border-bottom: 1px dotted var(--line); }
`;

const SCRIPT = `
(function () {
  'use strict';
  var machines = {};
  var actors = new Map();
  var selected = 'supervisor';
  var retention = 60000;
  var ws = null;
  var tbody = document.getElementById('actors');
  var statusEl = document.getElementById('status');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function stateText(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    return Object.keys(v).map(function (k) {
      var sub = stateText(v[k]);
      return sub ? k + ' \\u203a ' + sub : k;
    }).join(', ');
  }
  function leaves(v, out) {
    if (typeof v === 'string') out.push(v);
    else if (v) Object.keys(v).forEach(function (k) { leaves(v[k], out); });
    return out;
  }
  function topState(v) {
    if (v === null || v === undefined) return '';
    return typeof v === 'string' ? v : Object.keys(v)[0] || '';
  }
  function activePaths(v, prefix, out) {
    if (v === null || v === undefined) return out;
    if (typeof v === 'string') { out.add(prefix ? prefix + '.' + v : v); return out; }
    Object.keys(v).forEach(function (k) {
      var p = prefix ? prefix + '.' + k : k;
      out.add(p);
      activePaths(v[k], p, out);
    });
    return out;
  }
  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  }
  function clock(t) {
    var d = new Date(t);
    return d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }

  function actorOf(id) {
    var a = actors.get(id);
    if (a) return a;
    a = { id: id, kind: id === 'supervisor' ? 'supervisor' : 'connection', value: null, status: 'active',
          counters: null, events: [], closed: null, closedAt: 0, extra: '', row: null };
    var row = el('tr');
    row.dataset.id = id;
    ['id', 'state', 'num in', 'num out', 'num bin', 'num bout', 'num queued', 'num drops', 'event'].forEach(function (c) {
      row.appendChild(el('td', c));
    });
    row.addEventListener('click', function () { select(id); });
    a.row = row;
    actors.set(id, a);
    if (id === 'supervisor') tbody.insertBefore(row, tbody.firstChild); else tbody.appendChild(row);
    return a;
  }
  function cell(a, cls) { return a.row.querySelector('td.' + cls.split(' ').pop()); }
  function renderRow(a) {
    var row = a.row;
    var state = a.closed ? 'closed' : topState(a.value);
    row.dataset.state = state;
    if (a.closed) row.dataset.code = String(a.closed.code);
    cell(a, 'id').textContent = a.id;
    var stateCell = cell(a, 'state');
    if (a.closed) {
      stateCell.textContent = 'closed ' + a.closed.code + (a.closed.clean ? '' : ' (not clean)') + (a.closed.reason ? ': ' + a.closed.reason : '');
    } else {
      // The top state, then the active leaves of its regions: 'open' with 'idle, flowing'.
      stateCell.textContent = state;
      var sub = typeof a.value === 'string' ? [] : leaves(a.value && a.value[state], []);
      if (sub.length || a.extra) stateCell.appendChild(el('span', 'sub', (sub.length ? ': ' + sub.join(', ') : '') + a.extra));
    }
    var c = a.counters;
    // The counters' layout: messagesIn, bytesIn, messagesOut, bytesOut, outbox queued bytes, dropped.
    ['in', 'bin', 'out', 'bout', 'queued', 'drops'].forEach(function (k, i) {
      var v = c ? c[i] : null;
      cell(a, k).textContent = v === null ? '' : (k === 'bin' || k === 'bout' || k === 'queued') ? bytes(v) : String(v);
    });
    cell(a, 'event').textContent = a.events.length ? a.events[0].event : '';
    row.classList.toggle('selected', a.id === selected);
  }

  function renderState(node, kind, parent) {
    var box = el('div', 'st ' + node.type + (node.path === '' ? ' root' : ''));
    box.dataset.path = node.path;
    var name = el('div', 'name');
    if (parent && parent.initial === node.key) name.appendChild(el('span', 'initial', '\\u25cf\\u2192 '));
    name.appendChild(document.createTextNode(node.path === '' ? kind : node.key));
    box.appendChild(name);
    if (node.transitions.length) {
      var ul = el('ul', 'tr');
      node.transitions.forEach(function (t) {
        ul.appendChild(el('li', '', t.label + (t.targets.length ? ' \\u2192 ' + t.targets.join(', ') : '')));
      });
      box.appendChild(ul);
    }
    if (node.states.length) {
      var kids = el('div', 'kids');
      node.states.forEach(function (s) { kids.appendChild(renderState(s, kind, node)); });
      box.appendChild(kids);
    }
    return box;
  }
  function highlight(a) {
    var paths = activePaths(a.value, '', new Set());
    document.querySelectorAll('#diagram .st').forEach(function (box) {
      var p = box.dataset.path;
      box.classList.toggle('active', p === '' ? a.status === 'active' : paths.has(p));
    });
  }
  function renderDetail() {
    var a = actors.get(selected);
    document.getElementById('title').textContent = a ? a.id : 'select an actor';
    var diagram = document.getElementById('diagram');
    var events = document.getElementById('events');
    var meta = document.getElementById('meta');
    if (!a) { diagram.textContent = ''; events.textContent = ''; meta.textContent = ''; return; }
    if (diagram.dataset.kind !== a.kind && machines[a.kind]) {
      diagram.textContent = '';
      diagram.appendChild(renderState(machines[a.kind], a.kind, null));
      diagram.dataset.kind = a.kind;
    }
    highlight(a);
    meta.textContent = 'status ' + a.status + (a.closed ? ' \\u00b7 close code ' + a.closed.code + ' \\u00b7 ' + (a.closed.clean ? 'clean' : 'not clean') : '');
    events.textContent = '';
    a.events.forEach(function (e) { events.appendChild(el('li', '', clock(e.at) + '  ' + e.event + '  \\u2192 ' + e.state)); });
  }
  function select(id) {
    var previous = actors.get(selected);
    selected = id;
    if (previous) renderRow(previous);
    var a = actors.get(id);
    if (a) renderRow(a);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'select', id: id }));
    renderDetail();
  }

  function onSnapshot(e) {
    var a = actorOf(e.id);
    a.value = e.value;
    a.status = e.status;
    if (e.event) {
      a.events.unshift({ at: e.at, event: e.event, state: stateText(e.value) });
      if (a.events.length > 30) a.events.length = 30;
    }
    renderRow(a);
    if (a.id === selected) renderDetail();
  }
  function onClosed(e, serverNow) {
    var a = actorOf(e.id);
    a.closed = e;
    // Its age by the server's clock: a page that connects later keeps it only for what is left of the retention.
    a.closedAt = Date.now() - Math.max(0, (serverNow || e.at) - e.at);
    a.counters = e.counters;
    if (a.status === 'active') a.status = 'done';
    renderRow(a);
    if (a.id === selected) renderDetail();
  }
  function onCounters(e) {
    var supervisor = actors.get('supervisor');
    if (supervisor) {
      supervisor.extra = ' (' + e.open + ' open, ' + e.accepted + ' accepted)';
      renderRow(supervisor);
    }
    Object.keys(e.connections).forEach(function (id) {
      var a = actorOf(id);
      if (a.closed) return;
      a.counters = e.connections[id];
      renderRow(a);
    });
    document.getElementById('more').textContent = e.more ? e.more + ' more open connections not listed' : '';
  }
  function onEvent(e) {
    if (e.type === 'snapshot') onSnapshot(e);
    else if (e.type === 'closed') onClosed(e);
    else if (e.type === 'counters') onCounters(e);
  }
  function onHello(m) {
    machines = m.machines;
    retention = m.closedRetention;
    actors.clear();
    tbody.textContent = '';
    document.getElementById('diagram').dataset.kind = '';
    if (m.supervisor) onSnapshot(m.supervisor);
    m.closed.forEach(function (e) { onClosed(e, m.at); });
    m.connections.forEach(onSnapshot);
    onCounters(m.counters);
    renderDetail();
    document.body.dataset.connected = 'true';
  }

  function connect() {
    var url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + location.pathname.replace(/\\/?$/, '/ws');
    var token = new URLSearchParams(location.search).get('token');
    if (token) url += '?token=' + encodeURIComponent(token);
    ws = new WebSocket(url);
    ws.onopen = function () {
      statusEl.textContent = 'live';
      statusEl.className = 'live';
      ws.send(JSON.stringify({ type: 'select', id: selected }));
    };
    ws.onmessage = function (msg) {
      var m = JSON.parse(msg.data);
      if (m.type === 'hello') onHello(m);
      else if (m.type === 'events') m.events.forEach(onEvent);
    };
    ws.onclose = function (e) {
      document.body.dataset.connected = 'false';
      statusEl.className = '';
      statusEl.textContent = e.code === 1001 ? 'server stopped; reconnecting' : 'disconnected (' + e.code + '); reconnecting';
      setTimeout(connect, 1000);
    };
  }

  setInterval(function () {
    var now = Date.now();
    actors.forEach(function (a, id) {
      if (a.closed && now - a.closedAt > retention && id !== selected) {
        a.row.remove();
        actors.delete(id);
      }
    });
  }, 1000);
  connect();
})();
`;

const BODY = `
<header><h1>statewire inspector</h1><span id="status">connecting</span><span class="muted">every connection is a statechart; click one to see its machine</span></header>
<main>
  <section>
    <table>
      <thead><tr><th>actor</th><th>state</th><th>in</th><th>out</th><th>bytes in</th><th>bytes out</th><th>outbox</th><th>drops</th><th>last event</th></tr></thead>
      <tbody id="actors"></tbody>
    </table>
    <p id="more" class="muted"></p>
  </section>
  <section>
    <h2 id="title">select an actor</h2>
    <div id="meta"></div>
    <div id="diagram"></div>
    <h3>recent events</h3>
    <ol id="events"></ol>
  </section>
</main>
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/** The inspector page, served at `GET /inspect`. */
export const INSPECTOR_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>statewire inspector</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/** Its Content-Security-Policy: nothing but its own inline style and script (by hash) and its own WebSocket. */
export const INSPECTOR_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
