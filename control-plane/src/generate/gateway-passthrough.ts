/**
 * A Gateway PASSTHROUGH server -> filter chains that route by SNI without terminating TLS, as
 * Istio builds them from the VirtualServices' `tls` routes bound to that Gateway: one chain
 * per route match (`sniHosts` within the server's hosts, `port` the server's if set), its
 * `server_names` those SNI hosts, a tcp_proxy to `outbound|PORT|SUBSET|HOST` of the route's
 * destination. The client's handshake reaches the backend, whose certificate it sees.
 */
import type { VirtualService } from '@minimesh/kube';
import { hostsIntersect, resolveHost } from '../model/hostnames.js';
import type { MeshModel } from '../model/mesh-model.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { clusterName } from './naming.js';
import { resolveGatewayNames } from './translate-http-route.js';

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';
const vsRef = (vs: VirtualService): string => `VirtualService ${vsNs(vs)}/${vs.metadata.name}`;

/** The cluster of a tls route: its heaviest destination (minimesh's tcp_proxy has no weighted clusters yet). */
function routeCluster(model: MeshModel, vs: VirtualService, route: NonNullable<NonNullable<VirtualService['spec']>['tls']>[number], where: string, warnings: string[]): string | undefined {
  const dests = route.route ?? [];
  if (dests.length === 0) {
    warnings.push(`${vsRef(vs)} ${where}: no route destination; the match is ignored`);
    return undefined;
  }
  const pick = dests.reduce((best, d) => ((d.weight ?? 0) > (best.weight ?? 0) ? d : best), dests[0]);
  if (dests.length > 1) warnings.push(`${vsRef(vs)} ${where}: weights across several destinations are not supported for tls routes by minimesh's proxy yet; ${pick.destination.host} takes all connections`);
  const host = resolveHost(pick.destination.host, vsNs(vs), model.domainSuffix);
  const svc = model.servicesByHost.get(host);
  if (svc === undefined) {
    warnings.push(`${vsRef(vs)} ${where}: destination ${host} is not a known service; the match is ignored`);
    return undefined;
  }
  const port = pick.destination.port?.number ?? (svc.ports.length === 1 ? svc.ports[0].port : undefined);
  if (port === undefined || !svc.ports.some((p) => p.port === port)) {
    warnings.push(`${vsRef(vs)} ${where}: destination ${host} needs a port among ${svc.ports.map((p) => p.port).join(', ')}; the match is ignored`);
    return undefined;
  }
  return clusterName({ direction: 'outbound', port, subset: pick.destination.subset, host });
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
        const cluster = routeCluster(model, vs, route, `tls[${i}].match[${j}]`, warnings);
        if (cluster === undefined) return;
        const names = sni.filter((h) => h !== '*');
        chains.push({
          ...(names.length > 0 ? { filter_chain_match: { server_names: names } } : {}),
          filters: [{ name: TCP_PROXY_FILTER, typed_config: { '@type': TYPE.TcpProxy, stat_prefix: cluster, cluster } }],
        });
      });
    });
  }
  return chains;
}
