/** Cross-resource checks, separate so xDS can run them when both sides have arrived. */
import type { ClusterRt, ConfigError, ListenerRt, RouteConfigRt } from './runtime.js';
import { listenerHcms } from './listener-hcms.js';

/** Every cluster a route names must exist. `path` prefixes the route config's paths. */
export function checkRouteClusters(rc: RouteConfigRt, clusters: ReadonlyMap<string, ClusterRt>, path: string): ConfigError[] {
  const errors: ConfigError[] = [];
  const pre = path ? `${path}.` : '';
  // Paths follow the config as written; routes/vhosts compiled 1:1, so indexes line up.
  rc.virtualHosts.forEach((vh, i) => {
    vh.routes.forEach((r, k) => {
      if (r.action.kind !== 'forward') return;
      const rp = `${pre}virtual_hosts[${i}].routes[${k}].route`;
      const single = r.action.clusters.length === 1 && r.action.totalWeight === 1 && !r.action.clusters[0].requestHeadersToAdd.length;
      r.action.clusters.forEach((c, j) => {
        if (clusters.has(c.name)) return;
        const p = single ? `${rp}.cluster` : `${rp}.weighted_clusters.clusters[${j}].name`;
        errors.push({ path: p, message: `unknown cluster ${JSON.stringify(c.name)}` });
      });
      r.action.mirrors?.forEach((m, j) => {
        if (!clusters.has(m.cluster)) errors.push({ path: `${rp}.request_mirror_policies[${j}].cluster`, message: `unknown cluster ${JSON.stringify(m.cluster)}` });
      });
    });
  });
  return errors;
}

export function checkListenerClusters(listeners: readonly ListenerRt[], clusters: ReadonlyMap<string, ClusterRt>, paths: readonly string[]): ConfigError[] {
  return listeners.flatMap((l, i) => (l.filterChains === undefined ? (l.hcm ? checkRouteClusters(l.hcm.routeConfig, clusters, paths[i]) : []) : listenerHcms(l).flatMap((h) => checkRouteClusters(h.hcm.routeConfig, clusters, `${paths[i].replace(/\.filter_chains\[0\].*$/, '')}.${h.path}.route_config`))));
}
