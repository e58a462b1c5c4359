/**
 * The side panel of a clicked node: what it is, its inbound and outbound traffic per edge
 * (rate, error %, p95) with totals, and the sync state of its proxy. DOM only, text nodes only.
 */
import { formatBytes, formatDuration, formatPct, formatRate, nodeTraffic, proxiesFor } from './graph-format.js';
import { COLORS } from './graph-style.js';

/** document.createElement with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const KIND = { workload: 'Workload', app: 'App', service: 'Service', unknown: 'Unknown source' };

function trafficTable(title, side, testId) {
  const section = h('section', { 'data-testid': testId }, h('h3', {}, title));
  if (side.rows.length === 0) {
    section.append(h('p', { class: 'muted' }, 'no traffic'));
    return section;
  }
  const rows = side.rows.map((r) =>
    h(
      'tr',
      {},
      h('td', { class: 'peer' }, h('span', { class: 'dot', style: `background:${COLORS[r.health] ?? COLORS.idle}` }), r.peer),
      h('td', { class: 'num' }, r.protocol === 'tcp' ? formatBytes(r.rate) : formatRate(r.rate)),
      h('td', { class: 'num' }, r.protocol === 'tcp' ? '—' : formatPct(r.errPct)),
      h('td', { class: 'num' }, r.p95 !== undefined && r.p95 > 0 ? formatDuration(r.p95) : '—'),
    ),
  );
  const t = side.total;
  const totals = [];
  if (t.rate > 0 || t.tcp === 0)
    totals.push(h('tr', { class: 'total' }, h('td', {}, 'total'), h('td', { class: 'num' }, formatRate(t.rate)), h('td', { class: 'num' }, formatPct(t.errPct)), h('td', { class: 'num', title: 'highest p95 of the edges' }, t.p95Max ? `≤${formatDuration(t.p95Max)}` : '—')));
  if (t.tcp > 0) totals.push(h('tr', { class: 'total' }, h('td', {}, 'total tcp'), h('td', { class: 'num' }, formatBytes(t.tcp)), h('td', {}, ''), h('td', {}, '')));
  section.append(
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, title === 'Inbound' ? 'from' : 'to'), h('th', { class: 'num' }, 'rate'), h('th', { class: 'num' }, 'err'), h('th', { class: 'num' }, 'p95'))),
      h('tbody', {}, rows),
      h('tfoot', {}, totals),
    ),
  );
  return section;
}

function proxySection(d, proxies) {
  const section = h('section', { 'data-testid': 'panel-proxy' }, h('h3', {}, 'Proxy'));
  if (proxies === undefined) {
    section.append(h('p', { class: 'muted' }, 'loading…'));
    return section;
  }
  if (proxies === null) {
    section.append(h('p', { class: 'muted' }, 'proxy status unavailable'));
    return section;
  }
  const mine = proxiesFor(d, proxies);
  if (mine.length === 0) {
    section.append(h('p', { class: 'muted' }, d.nodeType === 'service' ? 'no proxy (a service is served by its workloads)' : 'no proxy'));
    return section;
  }
  for (const p of mine) {
    const states = ['CDS', 'LDS', 'EDS', 'RDS'].map((t) => {
      const s = p.types?.[t]?.state ?? '—';
      return h('span', { class: `pill ${String(s).toLowerCase().replace(/\s+/g, '-')}`, title: t }, `${t} ${s}`);
    });
    section.append(h('div', { class: 'proxy' }, h('div', { class: 'proxy-name' }, p.name), h('div', { class: 'pills' }, states), h('div', { class: 'muted small' }, `${p.version ? `version ${p.version}` : ''}${p.cluster ? ` · cluster ${p.cluster}` : ''}`)));
  }
  return section;
}

/**
 * Renders the panel for node data `d` into `root`. `edges` are all edge data of the graph,
 * `nameOf(id)` names a node, `proxies` is the /api/proxies answer (undefined: loading, null: failed).
 */
export function renderPanel(root, d, edges, nameOf, proxies, onClose) {
  const traffic = nodeTraffic(d.id, edges, nameOf);
  const title = String(d.label ?? d.id).replace(/\n/g, ' ');
  const facts = [d.namespace && `namespace ${d.namespace}`, d.nodeType === 'app' && d.version && d.version !== 'unknown' ? `version ${d.version}` : '', d.cluster && d.cluster !== 'unknown' ? `cluster ${d.cluster}` : '']
    .filter(Boolean)
    .join(' · ');
  const close = h('button', { class: 'close', type: 'button', 'aria-label': 'Close panel', title: 'Close' }, '×');
  close.addEventListener('click', onClose);
  root.replaceChildren(
    h('header', {}, h('div', {}, h('div', { class: 'kind' }, KIND[d.nodeType] ?? d.nodeType), h('h2', {}, title), h('div', { class: 'muted small' }, facts)), close),
    trafficTable('Inbound', traffic.inbound, 'panel-inbound'),
    trafficTable('Outbound', traffic.outbound, 'panel-outbound'),
    proxySection(d, proxies),
  );
  root.hidden = false;
}
