/** Envoy resources (plain-object form) for xDS tests: RDS listeners, EDS clusters, routes, endpoints. */
import { packAny, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import type { SnapshotInput } from '../../src/server/snapshot.js';

export function listener(name: string, port: number, routeName: string, address = '127.0.0.1'): Listener {
  const hcm = packAny(TYPE_URL.HttpConnectionManager, {
    stat_prefix: name,
    rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.Router, {}) }],
  });
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
  } as unknown as Listener;
}

/** A route config sending `prefix` -> cluster for each pair, on one `*` virtual host. */
export function routeConfig(name: string, routes: readonly [string, string][], extra: Record<string, unknown> = {}): RouteConfiguration {
  return {
    name,
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: routes.map(([prefix, cluster]) => ({ match: { prefix }, route: { cluster, ...extra } })) }],
  } as unknown as RouteConfiguration;
}

export function edsCluster(name: string): Cluster {
  return { name, type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } } as unknown as Cluster;
}

export function endpoints(clusterName: string, ports: readonly number[], address = '127.0.0.1'): ClusterLoadAssignment {
  return {
    cluster_name: clusterName,
    endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address, port_value: p } } } })) }],
  } as unknown as ClusterLoadAssignment;
}

/** One listener on `listenerPort`, route `r` sending / to `cluster` (EDS) at `upstreamPorts`. */
export function simpleSnapshot(version: string, listenerPort: number, cluster: string, upstreamPorts: readonly number[]): SnapshotInput {
  return {
    version,
    listeners: [listener('http', listenerPort, 'r')],
    routes: [routeConfig('r', [['/', cluster]])],
    clusters: [edsCluster(cluster)],
    endpoints: [endpoints(cluster, upstreamPorts)],
  };
}
