/**
 * Several VirtualServices for one host, as Istio resolves them (VirtualServices come in Istio's
 * order, build-mesh-model.ts: creationTimestamp, then name, then namespace; the folder source's
 * resources have no timestamp unless the YAML sets one, so they are in name order there, as
 * Istio orders timestamp-less config).
 *   sidecars  one VirtualService per host: an exact host beats a wildcard, a narrower wildcard a
 *             wider one, and among equals the oldest wins; the others are ignored for that host
 *             (`minimesh analyze` reports them as IST0109);
 *   gateways  the VirtualServices bound to the gateway's servers are merged per host: each host
 *             is the narrower of a server host and a VirtualService host (Istio's Intersection),
 *             and its routes are the VirtualServices' routes concatenated oldest first (each
 *             VirtualService's cut after its first catch-all route, as Istio stops there), then
 *             catch-all routes moved to the end (Istio's SortVHostRoutes).
 */
import type { VirtualService } from '@minimesh/kube';
import { hostMatches, resolveHost } from '../model/hostnames.js';
import type { JsonObject } from './envoy-json.js';

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';
const ref = (vs: VirtualService): string => `${vsNs(vs)}/${vs.metadata.name}`;

/** How narrowly `pattern` names a host: exact beats any wildcard; a longer wildcard beats a shorter one. */
function specificity(pattern: string): number {
  if (!pattern.startsWith('*')) return Number.MAX_SAFE_INTEGER;
  return pattern.length;
}

/**
 * The VirtualService a sidecar uses for `host`, from `candidates` (bound to `mesh`, in Istio's
 * order), and a warning naming the ones it ignores that claim the same host pattern.
 */
export function meshVirtualServiceFor(candidates: readonly VirtualService[], host: string, domainSuffix: string, warnings: string[]): VirtualService | undefined {
  let best: { vs: VirtualService; pattern: string; rank: number } | undefined;
  const byPattern = new Map<string, VirtualService[]>();
  for (const vs of candidates) {
    const patterns = (vs.spec?.hosts ?? []).map((h) => resolveHost(h, vsNs(vs), domainSuffix)).filter((p) => hostMatches(p, host));
    if (patterns.length === 0) continue;
    const pattern = patterns.reduce((a, b) => (specificity(b) > specificity(a) ? b : a));
    byPattern.set(pattern, [...(byPattern.get(pattern) ?? []), vs]);
    const rank = specificity(pattern);
    if (!best || rank > best.rank) best = { vs, pattern, rank };
  }
  if (!best) return undefined;
  const rivals = byPattern.get(best.pattern)!.filter((vs) => vs !== best!.vs);
  if (rivals.length > 0) {
    const msg = `VirtualServices ${rivals.map(ref).join(', ')}: host ${best.pattern} is also claimed for the mesh by the older ${ref(best.vs)}, which is used (IST0109)`;
    if (!warnings.includes(msg)) warnings.push(msg);
  }
  return best.vs;
}

/**
 * Istio's host Intersection of a gateway's server hosts and a VirtualService's hosts: for each
 * pair that overlaps, the narrower of the two (in server-host order, without repeats).
 */
export function intersectHosts(serverHosts: readonly string[], vsHosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      const h = hostMatches(v, s) ? s : hostMatches(s, v) ? v : undefined;
      if (h !== undefined && !out.includes(h)) out.push(h);
    }
  }
  return out;
}

/** A route with no header or query matches whose path match is prefix `/` (or regex `*`). */
export function isCatchAll(route: JsonObject): boolean {
  const m = (route.match ?? {}) as JsonObject;
  const path = m.prefix === '/' || (m.safe_regex as JsonObject | undefined)?.regex === '*';
  return path && ((m.headers as unknown[] | undefined) ?? []).length === 0 && ((m.query_parameters as unknown[] | undefined) ?? []).length === 0;
}

/** Catch-all routes moved to the end, the others keeping their order (Istio's SortVHostRoutes). */
export function catchAllLast(routes: readonly JsonObject[]): JsonObject[] {
  return [...routes.filter((r) => !isCatchAll(r)), ...routes.filter(isCatchAll)];
}

/** A VirtualService's routes up to and including its first catch-all (later ones can never match). */
export function upToCatchAll(routes: readonly JsonObject[]): JsonObject[] {
  const i = routes.findIndex(isCatchAll);
  return i < 0 ? [...routes] : routes.slice(0, i + 1);
}
