/**
 * Routes whose destination the proxy's scope leaves out (its Sidecar's egress hosts, or
 * exportTo): Istio still names the destination's cluster, which the proxy then lacks, so
 * those requests fail with 503. minimesh's push checks refuse a route to a missing cluster,
 * which would hold back the proxy's whole config; instead each such cluster is sent empty
 * (STATIC, no endpoints, like BlackHoleCluster): the route's share of requests gets the same
 * 503, and a warning says why.
 */
import type { MeshModel } from '../model/mesh-model.js';
import type { JsonObject } from './envoy-json.js';
import { parseClusterName } from './naming.js';
import { ISTIO_CONNECT_TIMEOUT } from './translate-traffic-policy.js';

function routeClusterNames(routes: readonly JsonObject[]): string[] {
  const out: string[] = [];
  for (const rc of routes) {
    for (const vh of (rc.virtual_hosts ?? []) as JsonObject[]) {
      for (const r of (vh.routes ?? []) as JsonObject[]) {
        const action = r.route as JsonObject | undefined;
        if (action === undefined) continue;
        if (typeof action.cluster === 'string') out.push(action.cluster);
        for (const w of ((action.weighted_clusters as JsonObject | undefined)?.clusters ?? []) as JsonObject[]) out.push(String(w.name));
      }
    }
  }
  return out;
}

/** Empty clusters for the scoped-out destinations `routes` name (see above); `clusters` are the proxy's. */
export function scopedOutDestinationClusters(full: MeshModel, scoped: MeshModel, routes: readonly JsonObject[], clusters: readonly JsonObject[], warnings: string[]): JsonObject[] {
  const have = new Set(clusters.map((c) => String(c.name)));
  const out: JsonObject[] = [];
  for (const name of new Set(routeClusterNames(routes))) {
    if (have.has(name)) continue;
    const k = parseClusterName(name);
    if (k?.direction !== 'outbound' || k.host === undefined || !full.servicesByHost.has(k.host) || scoped.servicesByHost.has(k.host)) continue;
    have.add(name);
    warnings.push(`a route goes to ${k.host}, which this proxy's Sidecar or exportTo leaves out: its requests get 503 (cluster ${name} is sent empty)`);
    out.push({ name, type: 'STATIC', connect_timeout: ISTIO_CONNECT_TIMEOUT, load_assignment: { cluster_name: name } });
  }
  return out;
}
