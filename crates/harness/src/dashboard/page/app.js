// The harness dashboard: routes, live requests (server-sent events), a chart of the last
// minutes and the emulators' contents. Plain DOM; every value goes in as text, never as HTML.
'use strict';

const MAX_ROWS = 200;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

function micros(us) {
  if (us < 1000) return us + ' µs';
  return (us / 1000).toFixed(us < 100000 ? 2 : 0) + ' ms';
}

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}

function showRoutes(routes) {
  const body = document.querySelector('#routes tbody');
  body.replaceChildren();
  if (routes.length === 0) body.append(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'no modules are routed')));
  for (const r of routes) {
    body.append(el('tr', { class: 'route-row' },
      el('td', {}, r.route), el('td', {}, r.module), el('td', {}, r.world),
      el('td', { class: 'num' }, bytes(r.size_bytes)), el('td', { class: 'num' }, r.compile_ms.toFixed(1) + ' ms'),
      el('td', {}, r.allowed_hosts.join(', ') || '—'),
      el('td', {}, r.environment_names.join(', ') || '—')));
  }
}

function callLine(c) {
  let text;
  if (c.result === 'denied') text = 'denied: ' + (c.hint || c.destination);
  else if (c.result === 'ok') text = c.method + ' ' + c.destination + ' ' + c.status + ' ' + micros(c.duration_us);
  else text = c.method + ' ' + c.destination + ' ' + c.result.replace('_', ' ') + ' after ' + micros(c.duration_us);
  return el('span', { class: 'call ' + c.result }, text);
}

function requestRow(r) {
  const calls = el('td', { class: 'calls' }, ...r.outbound.map(callLine));
  if (r.outbound_not_kept > 0) calls.append(el('span', { class: 'call' }, '… and ' + r.outbound_not_kept + ' more'));
  return el('tr', { class: 'request-row', 'data-id': r.id },
    el('td', {}, new Date(r.at_unix_ms).toLocaleTimeString()),
    el('td', {}, r.method), el('td', { class: 'path' }, r.path),
    el('td', { class: 'status status-' + String(r.status)[0] }, r.status),
    el('td', { class: 'num' }, micros(r.instantiate_us)), el('td', { class: 'num' }, micros(r.run_us)),
    el('td', { class: 'num' }, micros(r.total_us)),
    el('td', { class: 'num' }, bytes(r.bytes_in)), el('td', { class: 'num' }, bytes(r.bytes_out)),
    calls);
}

const seen = new Set();
function addRequest(r, fresh) {
  if (seen.has(r.id)) return;
  seen.add(r.id);
  const body = document.querySelector('#requests tbody');
  const row = requestRow(r);
  if (fresh) row.classList.add('new');
  body.prepend(row);
  while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
}

function connect() {
  const live = document.getElementById('live');
  const source = new EventSource('api/events');
  source.addEventListener('open', () => { live.textContent = 'live'; live.className = 'badge on'; });
  source.addEventListener('error', () => { live.textContent = 'reconnecting…'; live.className = 'badge off'; });
  source.addEventListener('request', (e) => addRequest(JSON.parse(e.data), true));
  source.addEventListener('lagged', (e) => {
    const missed = JSON.parse(e.data).missed;
    document.querySelector('#requests tbody').prepend(el('tr', {}, el('td', { colspan: 10, class: 'empty' }, missed + ' requests not shown (the page fell behind)')));
  });
}

function drawChart(points) {
  const svg = document.getElementById('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 900, H = 240, left = 60, right = 80, top = 10, bottom = 30;
  const now = Math.floor(Date.now() / 1000);
  const span = 300;
  const x = (t) => left + (W - left - right) * (1 - (now - t) / span);
  const maxRate = Math.max(1, ...points.map((p) => p.count));
  const maxMs = Math.max(1, ...points.map((p) => p.p99_ms));
  const yRate = (v) => H - bottom - (H - top - bottom) * (v / maxRate);
  const yMs = (v) => H - bottom - (H - top - bottom) * (v / maxMs);
  const s = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  svg.replaceChildren();
  svg.append(s('line', { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: 'axis' }));
  svg.append(s('text', { x: 4, y: top + 10 }, maxRate + ' req/s'));
  svg.append(s('text', { x: W - right + 4, y: top + 10 }, maxMs.toFixed(2) + ' ms'));
  svg.append(s('text', { x: left, y: H - 8 }, '-5 min'));
  svg.append(s('text', { x: W - right - 20, y: H - 8 }, 'now'));
  const barW = Math.max(1, (W - left - right) / span - 0.5);
  for (const p of points) {
    svg.append(s('rect', { class: 'rate', x: x(p.unix) - barW, y: yRate(p.count), width: barW, height: H - bottom - yRate(p.count) }));
  }
  for (const [key, label, dy] of [['p50_ms', 'p50', 0], ['p90_ms', 'p90', 14], ['p99_ms', 'p99', 28]]) {
    const d = points.map((p, i) => (i ? 'L' : 'M') + x(p.unix).toFixed(1) + ' ' + yMs(p[key]).toFixed(1)).join(' ');
    if (d) svg.append(s('path', { class: label, d }));
    for (const p of points) svg.append(s('circle', { class: label, cx: x(p.unix).toFixed(1), cy: yMs(p[key]).toFixed(1), r: 2 }));
    svg.append(s('text', { x: left + 8, y: top + 24 + dy, class: label }, label + ' latency'));
  }
  if (points.length === 0) svg.append(s('text', { x: W / 2 - 60, y: H / 2 }, 'no requests yet'));
}

function showBlob(blob) {
  const box = document.getElementById('blob');
  box.replaceChildren(el('h3', {}, 'Blob Storage'));
  if (!blob) { box.append(el('p', { class: 'empty' }, 'not running')); return; }
  for (const account of blob.accounts) {
    if (account.containers.length === 0) box.append(el('p', { class: 'empty' }, account.name + ': no containers'));
    for (const c of account.containers) {
      const table = el('table', { class: 'blobs' }, el('thead', {}, el('tr', {}, el('th', {}, 'blob'), el('th', {}, 'size'), el('th', {}, 'content type'), el('th', {}, ''))));
      const body = el('tbody');
      for (const b of c.blobs) {
        const href = 'api/blob?account=' + encodeURIComponent(account.name) + '&container=' + encodeURIComponent(c.name) + '&blob=' + encodeURIComponent(b.name);
        body.append(el('tr', { class: 'blob-row', 'data-container': c.name, 'data-blob': b.name },
          el('td', { class: 'blob-name' }, b.name), el('td', { class: 'num blob-size' }, b.size + ' B'),
          el('td', {}, b.content_type), el('td', {}, el('a', { href, download: b.name.split('/').pop() }, 'download'))));
      }
      if (c.blobs_not_shown > 0) body.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' }, '… and ' + c.blobs_not_shown + ' more')));
      table.append(body);
      box.append(el('h4', {}, account.name + ' / ' + c.name), table);
    }
  }
}

function showCosmos(cosmos) {
  const box = document.getElementById('cosmos');
  box.replaceChildren(el('h3', {}, 'Cosmos DB'));
  if (!cosmos) { box.append(el('p', { class: 'empty' }, 'not running')); return; }
  if (cosmos.databases.length === 0) box.append(el('p', { class: 'empty' }, 'no databases'));
  for (const db of cosmos.databases) {
    for (const c of db.containers) {
      box.append(el('h4', {}, db.id + ' / ' + c.id + ' (' + (c.documents.length + c.documents_not_shown) + ' documents)'));
      for (const d of c.documents) box.append(el('pre', { class: 'document' }, JSON.stringify(d, null, 2)));
    }
  }
}

function showEventGrid(eg) {
  const box = document.getElementById('eventgrid');
  box.replaceChildren(el('h3', {}, 'EventGrid'));
  if (!eg) { box.append(el('p', { class: 'empty' }, 'not running')); return; }
  box.append(el('p', {}, 'topics: ' + (eg.topics.join(', ') || '—')));
  const subs = el('ul', {});
  for (const s of eg.subscriptions) subs.append(el('li', {}, s.topic + ' → ' + s.name + ' at ' + s.endpoint));
  box.append(el('p', {}, 'subscriptions:'), subs);
  for (const [title, list] of [['delivered', eg.delivered], ['pending deliveries', eg.pending], ['dead letters', eg.dead_letters]]) {
    box.append(el('h4', {}, title + ' (' + list.length + ')'));
    for (const e of list) {
      box.append(el('p', {}, e.topic + ' → ' + e.subscription + ', attempt ' + e.attempts + (e.reason ? ': ' + e.reason : '')),
        el('pre', { class: 'event' }, JSON.stringify(e.event, null, 2)));
    }
  }
}

async function refreshEmulators() {
  const snapshot = await getJson('api/emulators');
  const section = document.getElementById('emulators-section');
  if (snapshot.enabled === false) { section.hidden = true; return; }
  section.hidden = false;
  showBlob(snapshot.blob);
  showCosmos(snapshot.cosmos);
  showEventGrid(snapshot.eventgrid);
}

async function every(ms, f) {
  for (;;) {
    try { await f(); } catch (e) { console.warn(e); }
    await new Promise((r) => setTimeout(r, ms));
  }
}

async function start() {
  showRoutes(await getJson('api/routes'));
  connect();
  for (const r of await getJson('api/requests')) addRequest(r, false);
  every(2000, async () => drawChart(await getJson('api/series')));
  every(2000, refreshEmulators);
}

start();
