/**
 * Envoy's /config_dump for a static bootstrap: the bootstrap, then its clusters,
 * listeners and route configurations each under their *ConfigDump type, as Envoy shows.
 */
const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

type Json = Record<string, unknown>;

export function configDump(bootstrap: Json): Json {
  const now = new Date().toISOString();
  const sr = (bootstrap.static_resources ?? {}) as Json;
  const clusters = (sr.clusters ?? []) as Json[];
  const listeners = (sr.listeners ?? []) as Json[];
  const routes: Json[] = [];
  for (const l of listeners) {
    for (const fc of (l.filter_chains ?? []) as Json[]) {
      for (const f of (fc.filters ?? []) as Json[]) {
        const tc = f.typed_config as Json | undefined;
        if (tc?.['@type'] === HCM && tc.route_config !== undefined) routes.push({ route_config: { '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', ...(tc.route_config as Json) }, last_updated: now });
      }
    }
  }
  return {
    configs: [
      { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap, last_updated: now },
      { '@type': `${ADMIN}ClustersConfigDump`, static_clusters: clusters.map((c) => ({ cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...c }, last_updated: now })) },
      { '@type': `${ADMIN}ListenersConfigDump`, static_listeners: listeners.map((l) => ({ listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', ...l }, last_updated: now })) },
      { '@type': `${ADMIN}RoutesConfigDump`, static_route_configs: routes },
    ],
  };
}
