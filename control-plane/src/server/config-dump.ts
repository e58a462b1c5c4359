/**
 * `/debug/config_dump?proxyID=…`: what the control plane generated for one proxy, in the shape
 * of Envoy's admin `/config_dump` (the same *ConfigDump types and fields as the proxy's own
 * dump), so `proxy-config` reads either.
 */
import type { ProxyResources } from '../generate/generate-for-proxy.js';
import type { JsonObject } from '../generate/envoy-json.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const TYPE = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export interface TypeVersions {
  readonly CDS: string;
  readonly EDS: string;
  readonly LDS: string;
  readonly RDS: string;
}

export interface GeneratedForProxy {
  readonly nodeId: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly resources: ProxyResources;
  readonly versions: TypeVersions;
  readonly at: string;
}

export function controlPlaneConfigDump(g: GeneratedForProxy): JsonObject {
  const typed = (t: string, r: JsonObject): JsonObject => ({ '@type': t, ...r });
  const at = g.at;
  return {
    configs: [
      { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: { node: { id: g.nodeId, cluster: g.cluster, metadata: g.metadata as JsonObject } }, last_updated: at },
      {
        '@type': `${ADMIN}ClustersConfigDump`,
        version_info: g.versions.CDS,
        dynamic_active_clusters: g.resources.clusters.map((c) => ({ version_info: g.versions.CDS, cluster: typed(TYPE.cluster, c), last_updated: at })),
      },
      {
        '@type': `${ADMIN}ListenersConfigDump`,
        version_info: g.versions.LDS,
        dynamic_listeners: g.resources.listeners.map((l) => ({ name: l.name, active_state: { version_info: g.versions.LDS, listener: typed(TYPE.listener, l), last_updated: at } })),
      },
      {
        '@type': `${ADMIN}RoutesConfigDump`,
        dynamic_route_configs: g.resources.routes.map((r) => ({ version_info: g.versions.RDS, route_config: typed(TYPE.route, r), last_updated: at })),
      },
      {
        '@type': `${ADMIN}EndpointsConfigDump`,
        dynamic_endpoint_configs: g.resources.endpoints.map((e) => ({ version_info: g.versions.EDS, endpoint_config: typed(TYPE.endpoints, e), last_updated: at })),
      },
    ],
  };
}
