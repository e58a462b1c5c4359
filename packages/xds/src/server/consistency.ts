/**
 * Cross-resource checks before a snapshot may be pushed (go-control-plane's `Consistent()`):
 * every RDS name a listener uses (in a filter chain or its api_listener) has a
 * RouteConfiguration, every EDS cluster has a ClusterLoadAssignment, every cluster a route
 * names exists. Types reach a proxy one after
 * the other, so a snapshot that is not whole would leave proxies waiting for what never comes.
 * This reads Envoy objects only; it does not judge what minimesh's proxy supports
 * (for that, compile the resources with @minimesh/config's `compileXdsSnapshot`).
 */
import { TYPE_URL, tryUnpackAny, type HttpConnectionManager, type Listener, type RouteConfiguration } from '@minimesh/api';
import type { SnapshotResources } from './snapshot.js';

export interface ConsistencyError {
  /** e.g. `listener outbound_8102`, `route 8102`, `cluster outbound|8102||a.b.svc.cluster.local`. */
  readonly resource: string;
  readonly message: string;
}

export function checkConsistency(s: SnapshotResources): ConsistencyError[] {
  const errors: ConsistencyError[] = [];
  const clusters = new Set((s.clusters ?? []).map((c) => c.name ?? ''));
  const routes = new Set((s.routes ?? []).map((r) => r.name ?? ''));
  const assignments = new Set((s.endpoints ?? []).map((e) => e.cluster_name ?? ''));
  for (const c of s.clusters ?? []) {
    if (c.type !== 'EDS') continue;
    const svc = c.eds_cluster_config?.service_name || c.name || '';
    if (!assignments.has(svc)) errors.push({ resource: `cluster ${c.name}`, message: `EDS cluster without a ClusterLoadAssignment ${JSON.stringify(svc)}` });
  }
  for (const l of s.listeners ?? []) {
    for (const hcm of connectionManagers(l)) {
      if (hcm.route_config) errors.push(...routeClusterErrors(hcm.route_config, clusters, `listener ${l.name}`));
      const rds = hcm.rds?.route_config_name;
      if (rds !== undefined && !routes.has(rds)) errors.push({ resource: `listener ${l.name}`, message: `RDS route configuration ${JSON.stringify(rds)} is not in the snapshot` });
    }
  }
  for (const rc of s.routes ?? []) errors.push(...routeClusterErrors(rc, clusters, `route ${rc.name}`));
  return errors;
}

/** The HCMs of a listener: in its filter chains, or its `api_listener` (proxyless gRPC clients' listeners). */
function connectionManagers(l: Listener): HttpConnectionManager[] {
  const anys = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])].flatMap((fc) => (fc.filters ?? []).map((f) => f.typed_config));
  if (l.api_listener?.api_listener) anys.push(l.api_listener.api_listener);
  const out: HttpConnectionManager[] = [];
  for (const any of anys) {
    if (any?.type_url !== TYPE_URL.HttpConnectionManager) continue;
    const hcm = tryUnpackAny<HttpConnectionManager>(any);
    if (hcm) out.push(hcm);
  }
  return out;
}

function routeClusterErrors(rc: RouteConfiguration, clusters: ReadonlySet<string>, resource: string): ConsistencyError[] {
  const errors: ConsistencyError[] = [];
  (rc.virtual_hosts ?? []).forEach((vh, i) => {
    (vh.routes ?? []).forEach((r, k) => {
      const names = r.route?.cluster ? [r.route.cluster] : (r.route?.weighted_clusters?.clusters ?? []).map((w) => w.name ?? '');
      for (const n of names) {
        if (!clusters.has(n)) errors.push({ resource, message: `virtual_hosts[${i}].routes[${k}] names cluster ${JSON.stringify(n)}, which is not in the snapshot` });
      }
    });
  });
  return errors;
}

export class InconsistentSnapshotError extends Error {
  constructor(
    readonly nodeId: string,
    readonly errors: readonly ConsistencyError[],
  ) {
    super(`inconsistent snapshot for ${nodeId}:\n${errors.map((e) => `  ${e.resource}: ${e.message}`).join('\n')}`);
    this.name = 'InconsistentSnapshotError';
  }
}
