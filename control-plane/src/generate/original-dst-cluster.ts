/**
 * A ServiceEntry with `resolution: NONE`: Istio's outbound cluster for each port is an
 * ORIGINAL_DST cluster (no endpoints: a connection or request goes where its client sent it),
 * balanced by the cluster itself (CLUSTER_PROVIDED) whatever the DestinationRule's loadBalancer.
 */
import type { JsonObject } from './envoy-json.js';
import { ISTIO_CONNECT_TIMEOUT } from './translate-traffic-policy.js';

export function originalDstCluster(name: string): JsonObject {
  return { name, type: 'ORIGINAL_DST', connect_timeout: ISTIO_CONNECT_TIMEOUT, lb_policy: 'CLUSTER_PROVIDED' };
}

/** After the traffic policy: an ORIGINAL_DST cluster keeps CLUSTER_PROVIDED, without hashing or locality settings. */
export function keepClusterProvided(c: JsonObject): void {
  if (c.type !== 'ORIGINAL_DST') return;
  c.lb_policy = 'CLUSTER_PROVIDED';
  for (const k of ['ring_hash_lb_config', 'maglev_lb_config', 'least_request_lb_config', 'round_robin_lb_config']) delete c[k];
  const common = c.common_lb_config as JsonObject | undefined;
  if (common !== undefined) {
    const { locality_weighted_lb_config: _l, ...rest } = common;
    if (Object.keys(rest).length > 0) c.common_lb_config = rest;
    else delete c.common_lb_config;
  }
}
