/**
 * The router's lookups, on the hot path: virtual host by authority, route by request,
 * weighted cluster by a random number. Everything is precompiled; these only compare.
 */
import { buildVirtualHostIndex } from './vhost-index.js';
import type {
  ForwardActionRt,
  HeaderMatcherRt,
  RequestView,
  RouteConfigRt,
  RouteRt,
  VirtualHostIndex,
  VirtualHostRt,
  WeightedClusterRt,
} from './runtime.js';
import { matchString } from './string-matcher.js';

const lazyIndex = new WeakMap<RouteConfigRt, VirtualHostIndex>();

function indexOf(rc: RouteConfigRt): VirtualHostIndex {
  if (rc.vhostIndex) return rc.vhostIndex;
  let idx = lazyIndex.get(rc);
  if (!idx) {
    idx = buildVirtualHostIndex(rc.virtualHosts);
    lazyIndex.set(rc, idx);
  }
  return idx;
}

function findNonDefault(idx: VirtualHostIndex, host: string): VirtualHostRt | undefined {
  const e = idx.exact.get(host);
  if (e) return e;
  for (const s of idx.suffixes) {
    if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.vh;
  }
  for (const p of idx.prefixes) {
    if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.vh;
  }
  return undefined;
}

/** Index of the `:port` suffix of an authority, or -1 (IPv6 `[::1]:80` aware). */
function portStart(host: string): number {
  const i = host.lastIndexOf(':');
  if (i < 0) return -1;
  if (host.charCodeAt(0) === 91 /* [ */ && host.lastIndexOf(']') > i) return -1;
  for (let k = i + 1; k < host.length; k++) {
    const c = host.charCodeAt(k);
    if (c < 48 || c > 57) return -1;
  }
  return i + 1 < host.length ? i : -1;
}

/**
 * Envoy's virtual host selection, case-insensitive: exact > longest `*suffix` > longest
 * `prefix*`, first with the authority as received (port included); if nothing matches and it
 * carries a port, again without the port; then the `*` virtual host.
 */
export function selectVirtualHost(rc: RouteConfigRt, authority: string): VirtualHostRt | undefined {
  const idx = indexOf(rc);
  const host = authority.toLowerCase();
  const vh = findNonDefault(idx, host);
  if (vh) return vh;
  const ps = portStart(host);
  if (ps > 0) {
    const v2 = findNonDefault(idx, host.slice(0, ps));
    if (v2) return v2;
  }
  return idx.star;
}

function headerValue(req: RequestView, name: string): string | undefined {
  if (name.charCodeAt(0) === 58 /* : */) {
    switch (name) {
      case ':method':
        return req.method;
      case ':path':
        return req.path;
      case ':authority':
        return req.authority;
      case ':scheme':
        return req.scheme ?? 'http';
      default:
        return undefined;
    }
  }
  if (name === 'host') return req.authority;
  const names = req.headerNames;
  let out: string | undefined;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === name) out = out === undefined ? req.headerValues[i] : `${out},${req.headerValues[i]}`;
  }
  return out;
}

/** Envoy's HeaderUtility::matchHeaders. */
export function matchHeader(h: HeaderMatcherRt, req: RequestView): boolean {
  const v = headerValue(req, h.name);
  if (v === undefined && !h.treatMissingAsEmpty) {
    // As Envoy: a missing header only satisfies `present_match: false` (or, inverted, `true`).
    if (h.rule.kind !== 'present') return false;
    return h.invert ? h.rule.present : !h.rule.present;
  }
  const value = v ?? '';
  let m: boolean;
  const rule = h.rule;
  switch (rule.kind) {
    case 'string':
      m = matchString(rule.matcher, value);
      break;
    case 'present':
      m = rule.present;
      break;
    case 'range': {
      m = false;
      if (/^-?[0-9]+$/.test(value)) {
        const n = Number(value);
        m = n >= rule.start && n < rule.end;
      }
      break;
    }
  }
  return m !== h.invert;
}

function decode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** First value of each query parameter, percent-decoded. */
export function parseQuery(query: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!query) return m;
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (!m.has(k)) m.set(k, eq < 0 ? '' : decode(part.slice(eq + 1)));
  }
  return m;
}

function matchPath(r: RouteRt, path: string, lower: string | undefined, method: string): boolean {
  const pm = r.match.path;
  if (pm.kind === 'connect') return method === 'CONNECT';
  if (method === 'CONNECT') return false;
  const p = r.match.caseSensitive || pm.kind === 'regex' ? path : (lower ?? path.toLowerCase());
  switch (pm.kind) {
    case 'prefix':
      return p.startsWith(pm.value);
    case 'path':
      return p === pm.value;
    case 'regex':
      return pm.regex.test(p);
    case 'path_separated_prefix':
      return p.startsWith(pm.value) && (p.length === pm.value.length || p.charCodeAt(pm.value.length) === 47 /* / */);
  }
}

/** Envoy's route matching: the first route whose match holds wins. */
export function matchRoute(vh: VirtualHostRt, req: RequestView): RouteRt | undefined {
  const full = req.path;
  let q = full.indexOf('?');
  const hash = full.indexOf('#');
  if (hash >= 0 && (q < 0 || hash < q)) q = hash;
  const path = q < 0 ? full : full.slice(0, q);
  let lower: string | undefined;
  let query: Map<string, string> | undefined;
  const routes = vh.routes;
  outer: for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (!r.match.caseSensitive && lower === undefined) lower = path.toLowerCase();
    if (!matchPath(r, path, lower, req.method)) continue;
    const hs = r.match.headers;
    for (let j = 0; j < hs.length; j++) if (!matchHeader(hs[j], req)) continue outer;
    const qs = r.match.queryParameters;
    if (qs.length > 0) {
      if (!query) {
        const qi = full.indexOf('?');
        query = parseQuery(qi < 0 ? '' : full.slice(qi + 1).split('#')[0]);
      }
      for (let j = 0; j < qs.length; j++) {
        const v = query.get(qs[j].name);
        if (v === undefined) continue outer;
        const m = qs[j].matcher;
        if (m && !matchString(m, v)) continue outer;
      }
    }
    return r;
  }
  return undefined;
}

/** Picks a cluster of a forward action; `random0to1` in [0, 1). */
export function pickWeightedCluster(action: ForwardActionRt, random0to1: number): WeightedClusterRt {
  const cs = action.clusters;
  if (cs.length === 1) return cs[0];
  let x = random0to1 * action.totalWeight;
  for (let i = 0; i < cs.length; i++) {
    x -= cs[i].weight;
    if (x < 0) return cs[i];
  }
  return cs[cs.length - 1];
}
