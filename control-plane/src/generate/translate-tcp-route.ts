/**
 * VirtualService `tcp` routes on a sidecar (Istio's TCP traffic shifting): for a TCP service
 * port, the first VirtualService bound to `mesh` that claims the service's host and has `tcp`
 * routes gives the first route whose `match` applies (port, sourceLabels, gateways,
 * sourceNamespace; no match: always). Its destinations become the port's target: one
 * destination a `cluster`; several `weighted_clusters` by `weight`, destinations of weight 0
 * left out (as Istio's TCP filter chains do). Destination ports as for HTTP: the given one,
 * else the service's only port, else the listener's port. No route applies: the service's
 * own cluster.
 */
import type { L4MatchAttributes, VirtualService } from '@minimesh/kube';
import { hostMatches } from '../model/hostnames.js';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import type { JsonObject } from './envoy-json.js';
import { clusterName } from './naming.js';
import { virtualServiceHosts } from './build-routes.js';
import { destinationCluster, MESH_GATEWAY, resolveGatewayNames, type RouteContext } from './translate-http-route.js';

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';

/** A port's target: one cluster, or clusters with weights. */
export type TcpTarget = { readonly cluster: string } | { readonly weighted: readonly { readonly name: string; readonly weight: number }[] };

function l4MatchApplies(m: L4MatchAttributes, vs: VirtualService, port: number, proxy: ProxyIdentity): boolean {
  if (m.port !== undefined && m.port !== port) return false;
  if (m.gateways && !resolveGatewayNames(m.gateways, vsNs(vs)).includes(MESH_GATEWAY)) return false;
  if (m.sourceLabels && !Object.entries(m.sourceLabels).every(([k, v]) => proxy.labels[k] === v)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== proxy.namespace) return false;
  return true;
}

/** The VirtualService bound to `mesh` with `tcp` routes for `host` (Istio's order: the oldest). */
export function tcpVirtualServiceFor(model: MeshModel, host: string): VirtualService | undefined {
  return model.virtualServices.find(
    (vs) => (vs.spec?.tcp?.length ?? 0) > 0 && resolveGatewayNames(vs.spec?.gateways, vsNs(vs)).includes(MESH_GATEWAY) && virtualServiceHosts(vs, model.domainSuffix).some((h) => hostMatches(h, host)),
  );
}

/** Where a connection to `svc:port` goes (see above). */
export function tcpTarget(model: MeshModel, proxy: ProxyIdentity, svc: ServiceModel, port: number, warnings: string[]): TcpTarget {
  const own = { cluster: clusterName({ direction: 'outbound', port, host: svc.hostname }) };
  const vs = tcpVirtualServiceFor(model, svc.hostname);
  if (vs === undefined) return own;
  const route = vs.spec!.tcp!.find((r) => !r.match || r.match.length === 0 || r.match.some((m) => l4MatchApplies(m, vs, port, proxy)));
  const dests = route?.route ?? [];
  if (dests.length === 0) return own;
  const ctx: RouteContext = { model, proxy, port, gateways: new Set([MESH_GATEWAY]), warnings };
  if (dests.length === 1) return { cluster: destinationCluster(dests[0]!.destination, vs, ctx) };
  const weighted = dests.filter((d) => (d.weight ?? 0) > 0).map((d) => ({ name: destinationCluster(d.destination, vs, ctx), weight: d.weight! }));
  if (weighted.length === 0) return own;
  return weighted.length === 1 ? { cluster: weighted[0]!.name } : { weighted };
}

/** The target as route action fields (`cluster` or `weighted_clusters`). */
export function tcpTargetRouteFields(t: TcpTarget): JsonObject {
  return 'cluster' in t ? { cluster: t.cluster } : { weighted_clusters: { clusters: t.weighted.map((w) => ({ name: w.name, weight: w.weight })) } };
}
