/**
 * A Gateway PASSTHROUGH server -> filter chains that route by SNI without terminating TLS, as
 * Istio builds them from the VirtualServices' `tls` routes bound to that Gateway: one chain
 * per route match (`sniHosts` within the server's hosts, `port` the server's if set), its
 * `server_names` those SNI hosts, a tcp_proxy to `outbound|PORT|SUBSET|HOST` of the route's
 * destination (weighted clusters for several). The client's handshake reaches the backend, whose certificate it sees.
 */
import type { RouteDestinationTls, TlsRoute, VirtualService } from '@minimesh/kube';
import { hostsIntersect, resolveHost } from '../model/hostnames.js';
import type { MeshModel } from '../model/mesh-model.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { clusterName } from './naming.js';
import { resolveGatewayNames } from './translate-http-route.js';

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';
const vsRef = (vs: VirtualService): string => `VirtualService ${vsNs(vs)}/${vs.metadata.name}`;

/** One destination's cluster, or undefined (with a warning) when its service or port is unknown. */
function destinationCluster(model: MeshModel, vs: VirtualService, d: RouteDestinationTls, where: string, warnings: string[]): string | undefined {
  const host = resolveHost(d.destination.host, vsNs(vs), model.domainSuffix);
  const svc = model.servicesByHost.get(host);
  if (svc === undefined) {
    warnings.push(`${vsRef(vs)} ${where}: destination ${host} is not a known service; the match is ignored`);
    return undefined;
  }
  const port = d.destination.port?.number ?? (svc.ports.length === 1 ? svc.ports[0].port : undefined);
  if (port === undefined || !svc.ports.some((p) => p.port === port)) {
    warnings.push(`${vsRef(vs)} ${where}: destination ${host} needs a port among ${svc.ports.map((p) => p.port).join(', ')}; the match is ignored`);
    return undefined;
  }
  return clusterName({ direction: 'outbound', port, subset: d.destination.subset, host });
}

/** The tcp_proxy of a tls route: one `cluster`, or `weighted_clusters` (Istio's weights; a lone destination takes all). */
export function routeTcpProxy(model: MeshModel, vs: VirtualService, route: TlsRoute, where: string, warnings: string[]): JsonObject | undefined {
  const dests = route.route ?? [];
  if (dests.length === 0) {
    warnings.push(`${vsRef(vs)} ${where}: no route destination; the match is ignored`);
    return undefined;
  }
  const clusters = dests.map((d) => destinationCluster(model, vs, d, where, warnings));
  if (clusters.some((c) => c === undefined)) return undefined;
  const base = { '@type': TYPE.TcpProxy };
  if (dests.length === 1) return { ...base, stat_prefix: clusters[0], cluster: clusters[0] };
  const weighted = dests.map((d, i) => ({ name: clusters[i]!, weight: d.weight ?? 0 })).filter((c) => c.weight > 0);
  if (weighted.length === 0) {
    warnings.push(`${vsRef(vs)} ${where}: several destinations and no weight above 0; the match is ignored`);
    return undefined;
  }
  return { ...base, stat_prefix: weighted[0].name, weighted_clusters: { clusters: weighted } };
}

/** The passthrough chains of the server of Gateway `gateway` (`namespace/name`) on `port` with `serverHosts`. */
export function passthroughChains(model: MeshModel, gateway: string, port: number, serverHosts: readonly string[], warnings: string[]): JsonObject[] {
  const chains: JsonObject[] = [];
  for (const vs of model.virtualServices) {
    if (!resolveGatewayNames(vs.spec?.gateways, vsNs(vs)).includes(gateway)) continue;
    (vs.spec?.tls ?? []).forEach((route, i) => {
      route.match.forEach((m, j) => {
        if (m.port !== undefined && m.port !== port) return;
        if (m.gateways !== undefined && !resolveGatewayNames(m.gateways, vsNs(vs)).includes(gateway)) return;
        const sni = m.sniHosts.map((h) => h.toLowerCase()).filter((h) => serverHosts.some((sh) => hostsIntersect(sh, h)));
        if (sni.length === 0) return;
        const tcpProxy = routeTcpProxy(model, vs, route, `tls[${i}].match[${j}]`, warnings);
        if (tcpProxy === undefined) return;
        const names = sni.filter((h) => h !== '*');
        chains.push({
          ...(names.length > 0 ? { filter_chain_match: { server_names: names } } : {}),
          filters: [{ name: TCP_PROXY_FILTER, typed_config: tcpProxy }],
        });
      });
    });
  }
  return chains;
}
