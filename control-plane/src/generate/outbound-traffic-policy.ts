/**
 * `outboundTrafficPolicy.mode` on a sidecar's outbound route configurations:
 *   ALLOW_ANY      as built (the `allow_any` virtual host to PassthroughCluster where the proxy
 *                  has one);
 *   REGISTRY_ONLY  Istio's `block_all` virtual host instead: any authority no service claims
 *                  gets a 502 from the proxy itself (route `block_all`, direct response, so
 *                  the access log shows `502 - block_all`); a CONNECT to such an authority (the
 *                  local mesh's TCP tunnels) goes to BlackHoleCluster, which has no endpoints:
 *                  the tunnel is refused and closed.
 */
import type { OutboundTrafficMode } from '../model/sidecar-scope.js';
import type { JsonObject } from './envoy-json.js';
import { BLACKHOLE_CLUSTER } from './naming.js';

export const BLOCK_ALL = 'block_all';

export function blockAllVirtualHost(): JsonObject {
  return {
    name: BLOCK_ALL,
    domains: ['*'],
    routes: [
      { name: BLOCK_ALL, match: { connect_matcher: {} }, route: { cluster: BLACKHOLE_CLUSTER, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } },
      { name: BLOCK_ALL, match: { prefix: '/' }, direct_response: { status: 502 } },
    ],
  };
}

/** The route configuration under `mode` (see above). */
export function withOutboundTrafficPolicy(rc: JsonObject, mode: OutboundTrafficMode): JsonObject {
  if (mode !== 'REGISTRY_ONLY') return rc;
  const vhosts = ((rc.virtual_hosts ?? []) as JsonObject[]).filter((vh) => vh.name !== 'allow_any');
  return { ...rc, virtual_hosts: [...vhosts, blockAllVirtualHost()] };
}
