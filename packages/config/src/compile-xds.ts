/**
 * xDS resources -> RuntimeConfig. Each resource compiles on its own (`compileXdsResources`,
 * or one by one with compileListener & co.); `linkXdsConfig` then resolves what xDS leaves
 * to names: a listener's `rds.route_config_name`, an EDS cluster's ClusterLoadAssignment,
 * and every cluster a route names. Errors are prefixed by the resource they are about,
 * e.g. `listener outbound_8102: filter_chains[0]...: message`, `route 8102: virtual_hosts[0]...`.
 *
 * The linker reuses the ClusterRt it built last time for the same (cluster, endpoints)
 * objects, so a caller that keeps compiled resources whose bytes did not change keeps
 * cluster identity across pushes (the proxy keeps connection pools only then).
 */
import { decodeResource, encodeResource, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import { checkRouteClusters } from './check-references.js';
import { mapListenerHcms } from './listener-hcms.js';
import { compileCluster, compileLoadAssignment } from './compile-cluster.js';
import { compileListener } from './compile-listener.js';
import { compileRouteConfiguration } from './compile-route.js';
import type { AdminRt, ClusterRt, CompileResult, ConfigError, EndpointRt, ListenerRt, NodeInfo, RouteConfigRt, RuntimeConfig } from './runtime.js';

/** The four xDS resource kinds as Envoy objects (plain objects of the generated types). */
export interface XdsResourceSet {
  readonly listeners: readonly Listener[];
  readonly routes: readonly RouteConfiguration[];
  readonly clusters: readonly Cluster[];
  readonly endpoints: readonly ClusterLoadAssignment[];
}

/** Compiled resources by name, not yet linked. EDS clusters have no endpoints here. */
export interface CompiledXdsResources {
  readonly listeners: ReadonlyMap<string, ListenerRt>;
  readonly routes: ReadonlyMap<string, RouteConfigRt>;
  readonly clusters: ReadonlyMap<string, ClusterRt>;
  /** Endpoints by ClusterLoadAssignment `cluster_name`. */
  readonly endpoints: ReadonlyMap<string, readonly EndpointRt[]>;
}

export interface XdsLinkOptions {
  readonly version?: string;
  readonly node?: NodeInfo;
  readonly admin?: AdminRt;
}

/** The kind word used in error prefixes, per resource kind. */
export type XdsResourceKind = 'listener' | 'route' | 'cluster' | 'endpoints';

/** Prefixes errors with the resource they belong to: `listener NAME: path`. */
export function prefixErrors(kind: XdsResourceKind, name: string, errors: readonly ConfigError[]): ConfigError[] {
  const pre = `${kind} ${name || '(unnamed)'}`;
  return errors.map((e) => ({ path: e.path ? `${pre}: ${e.path}` : pre, message: e.message }));
}

/** Compiles every resource; errors name the resource (e.g. `route 8102: virtual_hosts[0]...`). */
export function compileXdsResources(res: XdsResourceSet): CompileResult<CompiledXdsResources> {
  const errors: ConfigError[] = [];
  const listeners = new Map<string, ListenerRt>();
  const routes = new Map<string, RouteConfigRt>();
  const clusters = new Map<string, ClusterRt>();
  const endpoints = new Map<string, readonly EndpointRt[]>();
  const one = <T>(kind: XdsResourceKind, name: string | undefined, into: Map<string, T>, r: CompileResult<T>): void => {
    const n = name ?? '';
    if (into.has(n)) errors.push(...prefixErrors(kind, n, [{ path: 'name', message: `duplicate ${kind} name` }]));
    else if (r.ok) into.set(n, r.value);
    else errors.push(...prefixErrors(kind, n, r.errors));
  };
  for (const l of res.listeners) one('listener', l.name, listeners, compileListener(l));
  for (const rc of res.routes) one('route', rc.name, routes, compileRouteConfiguration(rc));
  for (const c of res.clusters) one('cluster', c.name, clusters, compileCluster(c));
  for (const cla of res.endpoints) one('endpoints', cla.cluster_name, endpoints, compileLoadAssignment(cla));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { listeners, routes, clusters, endpoints } };
}

/**
 * Compiles and links a whole xDS snapshot (what the control plane checks before a push).
 * Resources are first normalized through their proto encoding, as a proxy receives them
 * (hand-built objects lack the virtual oneof fields the compilers read, e.g. `action`).
 */
export function compileXdsSnapshot(res: XdsResourceSet, opts: XdsLinkOptions = {}): CompileResult<RuntimeConfig> {
  const norm = <T extends object>(typeUrl: string, list: readonly T[]): T[] => list.map((r) => decodeResource<T>(typeUrl, encodeResource(typeUrl, r)));
  const compiled = compileXdsResources({
    listeners: norm(TYPE_URL.Listener, res.listeners),
    routes: norm(TYPE_URL.RouteConfiguration, res.routes),
    clusters: norm(TYPE_URL.Cluster, res.clusters),
    endpoints: norm(TYPE_URL.ClusterLoadAssignment, res.endpoints),
  });
  return compiled.ok ? linkXdsConfig(compiled.value, opts) : compiled;
}

const edsMemo = new WeakMap<ClusterRt, { endpoints: readonly EndpointRt[]; rt: ClusterRt }>();

/**
 * Resolves RDS names and EDS assignments and checks every reference. Errors here are
 * about resources that are missing (possibly not arrived yet), never about a resource itself.
 */
export function linkXdsConfig(c: CompiledXdsResources, opts: XdsLinkOptions = {}): CompileResult<RuntimeConfig> {
  const errors: ConfigError[] = [];
  const clusters = new Map<string, ClusterRt>();
  for (const [name, base] of c.clusters) {
    if (base.type !== 'EDS') {
      clusters.set(name, base);
      continue;
    }
    const svc = base.edsServiceName || name;
    const eps = c.endpoints.get(svc);
    if (eps === undefined) {
      errors.push(...prefixErrors('cluster', name, [{ path: 'eds_cluster_config', message: `no ClusterLoadAssignment ${JSON.stringify(svc)} (EDS)` }]));
      continue;
    }
    const m = edsMemo.get(base);
    if (m !== undefined && m.endpoints === eps) clusters.set(name, m.rt);
    else {
      const rt: ClusterRt = { ...base, endpoints: eps };
      edsMemo.set(base, { endpoints: eps, rt });
      clusters.set(name, rt);
    }
  }
  const checkedRoutes = new Set<string>();
  const listeners: ListenerRt[] = [];
  const bound = new Map<string, string>();
  for (const [name, l] of c.listeners) {
    const addr = `${l.address}:${l.port}`;
    const other = bound.get(addr);
    if (other !== undefined && l.port !== 0) errors.push(...prefixErrors('listener', name, [{ path: 'address', message: `${addr} is already used by listener ${JSON.stringify(other)}` }]));
    bound.set(addr, name);
    let linked = true;
    const out = mapListenerHcms(l, (hcm, path) => {
      const rds = hcm.rdsName;
      if (rds === undefined) {
        errors.push(...prefixErrors('listener', name, checkRouteClusters(hcm.routeConfig, clusters, `${path}.route_config`)));
        return hcm;
      }
      const rc = c.routes.get(rds);
      if (rc === undefined) {
        errors.push(...prefixErrors('listener', name, [{ path: `${path}.rds.route_config_name`, message: `no RouteConfiguration ${JSON.stringify(rds)} (RDS)` }]));
        linked = false;
        return hcm;
      }
      if (!checkedRoutes.has(rds)) {
        checkedRoutes.add(rds);
        errors.push(...prefixErrors('route', rds, checkRouteClusters(rc, clusters, '')));
      }
      return { ...hcm, routeConfig: rc };
    });
    // tcp_proxy: a cluster that is not there yet closes its connections (Envoy's behaviour).
    if (linked) listeners.push(out);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: { version: opts.version ?? '', node: opts.node ?? { id: '', cluster: '', metadata: {} }, admin: opts.admin, listeners, clusters },
  };
}
