/**
 * The side panel of a clicked edge, as Kiali's: source and destination, the traffic it carries
 * (rate, error %, p95), and its security: whether the traffic was mutual TLS, which share of it,
 * and the principals on both ends (the SPIFFE identities the sidecars proved to each other).
 */
import { edgeFigures, edgeHealth, edgeSecurity, formatBytes, formatDuration, formatPct, formatRate, formatShare } from './graph-format.js';
import { COLORS } from './graph-style.js';
import { lockSvg } from './edge-locks.js';
import { h } from './panel.js';

function row(name, ...value) {
  return h('tr', {}, h('th', {}, name), h('td', {}, ...value));
}

function trafficSection(d) {
  const f = edgeFigures(d);
  const health = edgeHealth(d);
  const rows = [row('protocol', f.protocol), row('rate', f.protocol === 'tcp' ? formatBytes(f.rate) : formatRate(f.rate))];
  if (f.protocol !== 'tcp') rows.push(row('errors', formatPct(f.errPct)), row('p95', f.p95 !== undefined && f.p95 > 0 ? formatDuration(f.p95) : '—'));
  rows.push(row('health', h('span', { class: 'dot', style: `background:${COLORS[health] ?? COLORS.idle}` }), health));
  return h('section', { 'data-testid': 'edge-traffic' }, h('h3', {}, 'Traffic'), h('table', { class: 'facts' }, h('tbody', {}, rows)));
}

function securitySection(d) {
  const sec = edgeSecurity(d);
  const section = h('section', { 'data-testid': 'edge-security' }, h('h3', {}, 'Security'));
  if (sec.mtls > 0) {
    section.append(h('p', { class: 'mtls' }, h('span', { class: 'lock-icon' }, lockSvg(12)), ` mTLS enabled: ${formatShare(sec.mtls)} of the traffic`));
  } else section.append(h('p', { class: 'muted' }, 'no mTLS: the traffic was plaintext'));
  if (sec.sourcePrincipal || sec.destPrincipal)
    section.append(h('table', { class: 'facts' }, h('tbody', {}, row('from', sec.sourcePrincipal ?? 'unknown'), row('to', sec.destPrincipal ?? 'unknown'))));
  return section;
}

/** Renders the panel for edge data `d` into `root`; `nameOf(id)` names a node. */
export function renderEdgePanel(root, d, nameOf, onClose) {
  const close = h('button', { class: 'close', type: 'button', 'aria-label': 'Close panel', title: 'Close' }, '×');
  close.addEventListener('click', onClose);
  root.replaceChildren(
    h('header', {}, h('div', {}, h('div', { class: 'kind' }, 'Edge'), h('h2', {}, `${nameOf(d.source)} → ${nameOf(d.target)}`)), close),
    trafficSection(d),
    securitySection(d),
  );
  root.hidden = false;
}
