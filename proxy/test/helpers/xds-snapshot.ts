/**
 * For tests: the smallest complete xDS config (an outbound listener on 127.0.0.1:0 routing `/`
 * through RDS to one EDS cluster with one endpoint on loopback). Not a test file.
 */
import { packAny, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import type { SnapshotInput } from '@minimesh/xds/server';

export const LISTENER_NAME = 'outbound_0';

export function oneRouteSnapshot(version: string, cluster: string, upstreamPort: number): SnapshotInput {
  const hcm = packAny(TYPE_URL.HttpConnectionManager, {
    stat_prefix: LISTENER_NAME,
    rds: { route_config_name: '80', config_source: { ads: {} } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.Router, {}) }],
  });
  const listener = {
    name: LISTENER_NAME,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  };
  return {
    version,
    listeners: [listener as unknown as Listener],
    routes: [{ name: '80', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] } as unknown as RouteConfiguration],
    clusters: [{ name: cluster, type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: { ads: {} } } } as unknown as Cluster],
    endpoints: [{ cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] } as unknown as ClusterLoadAssignment],
  };
}
