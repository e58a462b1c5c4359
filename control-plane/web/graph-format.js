/**
 * Pure functions over the dashboard's graph JSON (Kiali's shape: numbers arrive as strings):
 * edge health by Kiali's default thresholds, edge and node labels, and the inbound/outbound
 * figures of one node. No DOM here.
 */

/** Kiali's default request-health tolerances, in percent of the edge's requests. */
export const THRESHOLDS = {
  http5xx: { degraded: 0.1, failure: 10 },
  http4xx: { degraded: 10, failure: 20 },
  grpc: { degraded: 0.1, failure: 10 },
};

/** A number from Kiali's string (or absent) field; NaN and absent give 0. */
export function num(v) {
  const n = typeof v === 'number' ? v : parseFloat(v ?? '');
  return Number.isFinite(n) ? n : 0;
}

/** healthy | degraded | failure for an error percentage against a tolerance. */
function classify(pct, t) {
  if (pct >= t.failure) return 'failure';
  if (pct > 0 && pct >= t.degraded) return 'degraded';
  return 'healthy';
}

const WORST = ['healthy', 'degraded', 'failure'];
const worst = (...s) => s.reduce((a, b) => (WORST.indexOf(b) > WORST.indexOf(a) ? b : a), 'healthy');

/** The percentage of an edge's requests answered with a code matching `re`, from `responses`. */
function responsesPercent(responses, re) {
  let pct = 0;
  for (const [code, detail] of Object.entries(responses ?? {}))
    if (re.test(code)) for (const v of Object.values(detail?.flags ?? {})) pct += num(v);
  return pct;
}

/** The request rate, error percentage and protocol an edge carries (tcp: bytes/s, no errors). */
export function edgeFigures(edgeData) {
  const traffic = edgeData?.traffic ?? {};
  const r = traffic.rates ?? {};
  const protocol = traffic.protocol ?? (num(r.grpc) > 0 ? 'grpc' : num(r.tcp) > 0 ? 'tcp' : 'http');
  const p95 = edgeData?.responseTime !== undefined && edgeData?.responseTime !== null && edgeData?.responseTime !== '' ? num(edgeData.responseTime) : undefined;
  if (protocol === 'tcp') return { protocol, rate: num(r.tcp), errPct: 0, p95: undefined };
  if (protocol === 'grpc') return { protocol, rate: num(r.grpc), errPct: num(r.grpcPercentErr), p95 };
  return { protocol, rate: num(r.http), errPct: num(r.httpPercentErr), p95 };
}

/** healthy | degraded | failure | tcp (TCP with traffic) | idle (no traffic). */
export function edgeHealth(edgeData) {
  const traffic = edgeData?.traffic ?? {};
  const r = traffic.rates ?? {};
  const { protocol, rate } = edgeFigures(edgeData);
  if (!(rate > 0)) return 'idle';
  if (protocol === 'tcp') return 'tcp';
  if (protocol === 'grpc') return classify(num(r.grpcPercentErr), THRESHOLDS.grpc);
  const have5xx = r.http5xx !== undefined || r.http4xx !== undefined;
  const p5 = have5xx ? (num(r.http5xx) / rate) * 100 : traffic.responses ? responsesPercent(traffic.responses, /^5\d\d$/) : num(r.httpPercentErr);
  const p4 = have5xx ? (num(r.http4xx) / rate) * 100 : responsesPercent(traffic.responses, /^4\d\d$/);
  return worst(classify(p5, THRESHOLDS.http5xx), classify(p4, THRESHOLDS.http4xx));
}

/** 12ms, 1.25s */
export function formatDuration(ms) {
  if (ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2).replace(/\.?0+$/, '')}s`;
}

/** 512B/s, 1.5kB/s, 2.25MB/s */
export function formatBytes(bps) {
  if (bps < 1024) return `${bps < 10 ? bps.toFixed(1).replace(/\.0$/, '') : Math.round(bps)}B/s`;
  if (bps < 1024 * 1024) return `${(bps / 1024).toFixed(1).replace(/\.0$/, '')}kB/s`;
  return `${(bps / 1024 / 1024).toFixed(2).replace(/\.?0+$/, '')}MB/s`;
}

export const formatRate = (rps) => `${rps.toFixed(2)}rps`;
export const formatPct = (pct) => `${pct.toFixed(1)}%`;

/** `1.50rps 0.0% 12ms` (HTTP/gRPC), `1.5kB/s` (TCP), '' when idle. */
export function edgeLabel(edgeData) {
  const f = edgeFigures(edgeData);
  if (!(f.rate > 0)) return '';
  if (f.protocol === 'tcp') return formatBytes(f.rate);
  const parts = [formatRate(f.rate), formatPct(f.errPct)];
  if (f.p95 !== undefined && f.p95 > 0) parts.push(formatDuration(f.p95));
  return parts.join(' ');
}

/** The text under a node: its workload, app (and version), service, namespace for a box. */
export function nodeLabel(d, graphType) {
  if (d.isBox) return d.isBox === 'namespace' ? d.namespace : d.app || d.cluster || d.id;
  const known = (v) => v && v !== 'unknown';
  switch (d.nodeType) {
    case 'workload':
      return d.workload || d.id;
    case 'app':
      return graphType === 'versionedApp' && known(d.version) ? `${d.app}\n${d.version}` : d.app || d.id;
    case 'service':
      return d.service || d.id;
    case 'unknown':
      return 'unknown';
    default:
      return d.workload || d.app || d.service || d.id;
  }
}

/** One line per edge into (inbound) or out of (outbound) the node, plus a total per protocol. */
export function nodeTraffic(nodeId, edges, nameOf) {
  const side = (dir) => {
    const rows = edges
      .filter((e) => (dir === 'in' ? e.target : e.source) === nodeId)
      .map((e) => ({ peer: nameOf(dir === 'in' ? e.source : e.target), ...edgeFigures(e), health: edgeHealth(e) }))
      .sort((a, b) => b.rate - a.rate || a.peer.localeCompare(b.peer));
    const req = rows.filter((r) => r.protocol !== 'tcp');
    const rate = req.reduce((s, r) => s + r.rate, 0);
    const errPct = rate > 0 ? req.reduce((s, r) => s + r.rate * r.errPct, 0) / rate : 0;
    const p95s = req.map((r) => r.p95).filter((v) => v !== undefined && v > 0);
    const tcp = rows.filter((r) => r.protocol === 'tcp').reduce((s, r) => s + r.rate, 0);
    return { rows, total: { rate, errPct, p95Max: p95s.length ? Math.max(...p95s) : undefined, tcp } };
  };
  return { inbound: side('in'), outbound: side('out') };
}

/**
 * The proxies behind a node, from /api/proxies: same namespace, and a pod named after the
 * workload (`<workload>-<hash>-<id>` or exactly it) or, in app graphs, after the app.
 */
export function proxiesFor(d, proxies) {
  if (!Array.isArray(proxies) || d.isBox || d.nodeType === 'service' || d.nodeType === 'unknown') return [];
  const names = [d.workload, d.nodeType === 'app' ? d.app : undefined].filter((v) => v && v !== 'unknown');
  return proxies.filter((p) => {
    const [pod, ns] = splitProxyName(p);
    return ns === d.namespace && names.some((n) => pod === n || pod.startsWith(`${n}-`));
  });
}

/** `POD.NS` from the proxy entry's name, else from its node id `sidecar~IP~POD.NS~...`. */
function splitProxyName(p) {
  const name = p?.name || String(p?.proxy ?? '').split('~')[2] || '';
  const dot = name.lastIndexOf('.');
  return dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * The security of an edge, as Kiali's security appender gives it: `mtls` is the share (0-100) of
 * the edge's traffic that was mutual TLS (absent or 0: none), with the principals on both ends.
 */
export function edgeSecurity(edgeData) {
  const pct = num(edgeData?.isMTLS);
  return {
    mtls: pct > 0 ? Math.min(pct, 100) : 0,
    sourcePrincipal: edgeData?.sourcePrincipal || undefined,
    destPrincipal: edgeData?.destPrincipal || undefined,
  };
}

/** `100%`, `66.7%` */
export const formatShare = (pct) => (Number.isInteger(pct) ? `${pct}%` : `${pct.toFixed(1)}%`);
