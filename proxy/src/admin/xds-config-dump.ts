/**
 * Envoy's /config_dump for a proxy fed by xDS: the bootstrap (node, ADS server), then the
 * dynamic clusters, listeners, route configurations and endpoints, each with the version
 * it arrived in and when, under the same *ConfigDump types and field names as Envoy.
 */
import { toJsonData, TYPE_URL } from '@minimesh/api';
import type { XdsDump } from '@minimesh/xds/client';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
type Json = Record<string, unknown>;

export interface XdsBootstrapInfo {
  readonly node: { readonly id: string; readonly cluster?: string; readonly metadata?: Readonly<Record<string, unknown>> };
  /** host:port of the ADS server. */
  readonly server: string;
}

function entries(dump: XdsDump, typeUrl: keyof XdsDump): { name: string; version: string; at: string; json: Json }[] {
  const h = dump[typeUrl];
  if (h === undefined) return [];
  return [...h.entries.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => ({ name: e.name, version: e.version, at: e.lastUpdated.toISOString(), json: { '@type': typeUrl, ...(toJsonData(typeUrl, e.resource) as Json) } }));
}

export function xdsConfigDump(boot: XdsBootstrapInfo, dump: XdsDump): Json {
  const bootstrap = {
    node: { id: boot.node.id, cluster: boot.node.cluster ?? '', metadata: boot.node.metadata ?? {}, user_agent_name: 'minimesh' },
    dynamic_resources: {
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }], target_uri: boot.server },
    },
  };
  return {
    configs: [
      { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap, last_updated: new Date().toISOString() },
      {
        '@type': `${ADMIN}ClustersConfigDump`,
        version_info: dump[TYPE_URL.Cluster]?.version ?? '',
        dynamic_active_clusters: entries(dump, TYPE_URL.Cluster).map((e) => ({ version_info: e.version, cluster: e.json, last_updated: e.at })),
      },
      {
        '@type': `${ADMIN}ListenersConfigDump`,
        version_info: dump[TYPE_URL.Listener]?.version ?? '',
        dynamic_listeners: entries(dump, TYPE_URL.Listener).map((e) => ({ name: e.name, active_state: { version_info: e.version, listener: e.json, last_updated: e.at } })),
      },
      {
        '@type': `${ADMIN}RoutesConfigDump`,
        dynamic_route_configs: entries(dump, TYPE_URL.RouteConfiguration).map((e) => ({ version_info: e.version, route_config: e.json, last_updated: e.at })),
      },
      {
        '@type': `${ADMIN}EndpointsConfigDump`,
        dynamic_endpoint_configs: entries(dump, TYPE_URL.ClusterLoadAssignment).map((e) => ({ version_info: e.version, endpoint_config: e.json, last_updated: e.at })),
      },
    ],
  };
}
