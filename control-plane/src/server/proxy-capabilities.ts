/**
 * What minimesh's proxy runs today, applied to generated config before it is pushed.
 *
 * Translation stays faithful to Istio (the goldens show fault injection, mirroring and
 * outlier detection in Envoy's shapes), but the proxy rejects those fields until the
 * traffic-policy issue lands: pushing them would make every affected proxy NACK and freeze
 * on its last config. So the push path takes them out, and says so once per resource:
 * the route is served without its fault, the cluster without outlier detection.
 */
import type { ProxyResources } from '../generate/generate-for-proxy.js';
import type { JsonObject } from '../generate/envoy-json.js';

type Json = Record<string, unknown>;

const FAULT_FILTER = 'envoy.filters.http.fault';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** The Istio resource a route came from (Istio's `filter_metadata.istio.config` path), for messages. */
function origin(route: Json): string {
  const config = ((route.metadata as Json | undefined)?.filter_metadata as Json | undefined)?.istio as Json | undefined;
  const path = typeof config?.config === 'string' ? config.config : '';
  const m = /namespaces\/([^/]+)\/virtual-service\/([^/]+)$/.exec(path);
  return m ? `VirtualService ${m[1]}/${m[2]}` : `route ${String(route.name ?? '')}`;
}

function adaptRouteConfig(rc: Json, notes: Set<string>): Json {
  const vhosts = (rc.virtual_hosts as Json[] | undefined) ?? [];
  return {
    ...rc,
    virtual_hosts: vhosts.map((vh) => ({
      ...vh,
      routes: ((vh.routes as Json[] | undefined) ?? []).map((r) => {
        let route = r;
        const perFilter = route.typed_per_filter_config as Json | undefined;
        if (perFilter?.[FAULT_FILTER] !== undefined) {
          const { [FAULT_FILTER]: _fault, ...rest } = perFilter;
          route = { ...route, typed_per_filter_config: Object.keys(rest).length > 0 ? rest : undefined };
          if (Object.keys(rest).length === 0) delete route.typed_per_filter_config;
          notes.add(`Warning (${origin(r)}) fault injection is not supported by minimesh's proxy yet: the route is served without it`);
        }
        const action = route.route as Json | undefined;
        if (action?.request_mirror_policies !== undefined) {
          const { request_mirror_policies: _mirror, ...rest } = action;
          route = { ...route, route: rest };
          notes.add(`Warning (${origin(r)}) mirroring is not supported by minimesh's proxy yet: the route is served without it`);
        }
        return route;
      }),
    })),
  };
}

function adaptListener(l: Json, notes: Set<string>): Json {
  const chains = (l.filter_chains as Json[] | undefined) ?? [];
  return {
    ...l,
    filter_chains: chains.map((fc) => ({
      ...fc,
      filters: ((fc.filters as Json[] | undefined) ?? []).map((f) => {
        const tc = f.typed_config as Json | undefined;
        if (tc?.['@type'] !== HCM) return f;
        const hcm: Json = { ...tc, http_filters: ((tc.http_filters as Json[] | undefined) ?? []).filter((h) => h.name !== FAULT_FILTER) };
        if (tc.route_config !== undefined) hcm.route_config = adaptRouteConfig(tc.route_config as Json, notes);
        return { ...f, typed_config: hcm };
      }),
    })),
  };
}

/** The resources as minimesh's proxy accepts them, and what was left out (one line per cause). */
export function adaptToProxy(res: ProxyResources): { resources: ProxyResources; notes: string[] } {
  const notes = new Set<string>();
  const clusters = res.clusters.map((c) => {
    if (c.outlier_detection === undefined) return c;
    const { outlier_detection: _od, ...rest } = c;
    notes.add(`Warning (cluster ${String(c.name)}) outlier detection (DestinationRule trafficPolicy.outlierDetection) is not supported by minimesh's proxy yet: the cluster is served without it`);
    return rest;
  });
  const resources: ProxyResources = {
    listeners: res.listeners.map((l) => adaptListener(l, notes) as JsonObject),
    routes: res.routes.map((rc) => adaptRouteConfig(rc, notes) as JsonObject),
    clusters,
    endpoints: res.endpoints,
    ...(res.secrets !== undefined ? { secrets: res.secrets } : {}),
    warnings: res.warnings,
  };
  return { resources, notes: [...notes] };
}
