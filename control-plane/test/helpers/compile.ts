/** Compiles generated resources with @minimesh/config, as the proxy would on receipt. */
import { fromJsonData, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import { compileCluster, compileListener, compileLoadAssignment, compileRouteConfiguration, type RouteConfigRt } from '@minimesh/config';
import { inlineRoutes, type ProxyResources } from '../../src/index.js';

export interface Compiled {
  readonly errors: string[];
  readonly routes: Map<string, RouteConfigRt>;
}

const fmt = (where: string, errs: readonly { path: string; message: string }[]): string[] => errs.map((e) => `${where}: ${e.path}: ${e.message}`);

export function compileAll(r: ProxyResources): Compiled {
  const errors: string[] = [];
  const routes = new Map<string, RouteConfigRt>();
  for (const c of r.clusters) {
    const p = fromJsonData<Cluster>(TYPE_URL.Cluster, c);
    if (!p.ok) errors.push(...fmt(`cluster ${c.name}`, p.errors));
    else {
      const k = compileCluster(p.value);
      if (!k.ok) errors.push(...fmt(`cluster ${c.name}`, k.errors));
    }
  }
  for (const e of r.endpoints) {
    const p = fromJsonData<ClusterLoadAssignment>(TYPE_URL.ClusterLoadAssignment, e);
    if (!p.ok) errors.push(...fmt(`endpoints ${e.cluster_name}`, p.errors));
    else {
      const k = compileLoadAssignment(p.value);
      if (!k.ok) errors.push(...fmt(`endpoints ${e.cluster_name}`, k.errors));
    }
  }
  for (const rc of r.routes) {
    const p = fromJsonData<RouteConfiguration>(TYPE_URL.RouteConfiguration, rc);
    if (!p.ok) errors.push(...fmt(`route ${rc.name}`, p.errors));
    else {
      const k = compileRouteConfiguration(p.value);
      if (!k.ok) errors.push(...fmt(`route ${rc.name}`, k.errors));
      else routes.set(String(rc.name), k.value);
    }
  }
  for (const l of inlineRoutes(r.listeners, r.routes)) {
    const p = fromJsonData<Listener>(TYPE_URL.Listener, l);
    if (!p.ok) errors.push(...fmt(`listener ${l.name}`, p.errors));
    else {
      const k = compileListener(p.value);
      if (!k.ok) errors.push(...fmt(`listener ${l.name}`, k.errors));
    }
  }
  return { errors, routes };
}
