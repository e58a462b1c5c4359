/**
 * Reads an Envoy `/config_dump` (the control plane's per-proxy dump or a proxy's admin dump):
 * the active clusters, listeners, route configurations (RDS and inline) and endpoints.
 * Field names are read in snake_case or camelCase.
 */
export type Json = Record<string, unknown>;

/** `o.route_config` or `o.routeConfig`. */
export function field(o: unknown, snake: string): unknown {
  if (o === null || typeof o !== 'object') return undefined;
  const r = o as Json;
  if (snake in r) return r[snake];
  return r[snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
}

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

export interface DumpResources {
  readonly clusters: Json[];
  readonly listeners: Json[];
  readonly routes: Json[];
  readonly endpoints: Json[];
}

function section(dump: unknown, type: string): Json | undefined {
  return list(field(dump, 'configs')).find((c) => String(c['@type'] ?? '').endsWith(`.${type}`));
}

export function readConfigDump(dump: unknown): DumpResources {
  const c = section(dump, 'ClustersConfigDump');
  const l = section(dump, 'ListenersConfigDump');
  const r = section(dump, 'RoutesConfigDump');
  const e = section(dump, 'EndpointsConfigDump');
  return {
    clusters: [...list(field(c, 'static_clusters')), ...list(field(c, 'dynamic_active_clusters'))].map((x) => field(x, 'cluster') as Json).filter(Boolean),
    listeners: [
      ...list(field(l, 'static_listeners')).map((x) => field(x, 'listener') as Json),
      ...list(field(l, 'dynamic_listeners')).map((x) => field(field(x, 'active_state'), 'listener') as Json),
    ].filter(Boolean),
    routes: [...list(field(r, 'static_route_configs')), ...list(field(r, 'dynamic_route_configs'))].map((x) => field(x, 'route_config') as Json).filter(Boolean),
    endpoints: [...list(field(e, 'static_endpoint_configs')), ...list(field(e, 'dynamic_endpoint_configs'))].map((x) => field(x, 'endpoint_config') as Json).filter(Boolean),
  };
}

/** The HTTP connection managers of a listener's filter chains. */
export function connectionManagers(listener: Json): Json[] {
  const out: Json[] = [];
  for (const fc of list(field(listener, 'filter_chains')))
    for (const f of list(field(fc, 'filters'))) {
      const tc = field(f, 'typed_config') as Json | undefined;
      if (String(tc?.['@type'] ?? '').endsWith('HttpConnectionManager') || field(f, 'name') === 'envoy.filters.network.http_connection_manager') out.push(tc ?? {});
    }
  return out;
}
