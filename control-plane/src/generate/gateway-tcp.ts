/**
 * A gateway proxy's TCP servers (Istio's TCP traffic shifting through the ingress gateway):
 * a Gateway server whose protocol is TCP or another opaque TCP protocol (MONGO, REDIS, MYSQL)
 * gives the gateway one listener on its pod port (`0.0.0.0_<port>`), a tcp_proxy whose target
 * comes from the VirtualServices bound to that Gateway, as Istio picks it: the first
 * VirtualService (oldest first) whose hosts meet the server's hosts and which has a `tcp`
 * route whose `match` applies to the server (`port` the server's port if set, `gateways`
 * naming the Gateway if set; no match: always); its destinations become `cluster`, or
 * `weighted_clusters` by `weight` (weight 0 left out: a connection picks one by weight).
 * A port that also has HTTP, HTTPS or TLS servers stays theirs (warned); a TCP server that no
 * route serves gets no listener (warned), as Istio leaves out a chain without filters.
 */
import { parseProtocol, type GatewayServer, type L4MatchAttributes, type Protocol, type VirtualService } from '@minimesh/kube';
import { hostsIntersect, stripHostNamespace } from '../model/hostnames.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { gatewayListenPort, gatewaysForProxy, virtualServiceHosts } from './build-routes.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { listenerName } from './naming.js';
import { destinationCluster, resolveGatewayNames, type RouteContext } from './translate-http-route.js';
import { STATS_FILTER } from '@minimesh/mesh';

/** The protocols a gateway serves as opaque TCP. */
export const GATEWAY_TCP_PROTOCOLS: ReadonlySet<Protocol> = new Set<Protocol>(['TCP', 'Mongo', 'Redis', 'MySQL']);

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';

interface TcpServer {
  readonly ref: string;
  readonly server: GatewayServer;
  readonly hosts: string[];
}

function l4Applies(m: L4MatchAttributes, vs: VirtualService, gateway: string, port: number): boolean {
  if (m.port !== undefined && m.port !== port) return false;
  if (m.gateways !== undefined && m.gateways.length > 0 && !resolveGatewayNames(m.gateways, vsNs(vs)).includes(gateway)) return false;
  return true;
}

/** The tcp_proxy of server `ts` on `port`, or undefined when no VirtualService's tcp route serves it. */
export function gatewayTcpProxy(model: MeshModel, proxy: ProxyIdentity, ts: TcpServer, port: number, warnings: string[]): JsonObject | undefined {
  for (const vs of model.virtualServices) {
    if ((vs.spec?.tcp?.length ?? 0) === 0 || !resolveGatewayNames(vs.spec?.gateways, vsNs(vs)).includes(ts.ref)) continue;
    if (!virtualServiceHosts(vs, model.domainSuffix).some((h) => ts.hosts.some((sh) => hostsIntersect(sh, h)))) continue;
    const route = vs.spec!.tcp!.find((r) => !r.match || r.match.length === 0 || r.match.some((m) => l4Applies(m, vs, ts.ref, port)));
    if (route === undefined) continue;
    const dests = route.route ?? [];
    const where = `VirtualService ${vsNs(vs)}/${vs.metadata.name} tcp[${vs.spec!.tcp!.indexOf(route)}]`;
    if (dests.length === 0) {
      warnings.push(`${where}: no route destination; Gateway ${ts.ref} port ${port} is not served`);
      return undefined;
    }
    const ctx: RouteContext = { model, proxy, port, gateways: new Set([ts.ref]), warnings };
    const base = { '@type': TYPE.TcpProxy };
    if (dests.length === 1) {
      const cluster = destinationCluster(dests[0]!.destination, vs, ctx);
      return { ...base, stat_prefix: cluster, cluster };
    }
    const weighted = dests.filter((d) => (d.weight ?? 0) > 0).map((d) => ({ name: destinationCluster(d.destination, vs, ctx), weight: d.weight! }));
    if (weighted.length === 0) {
      warnings.push(`${where}: several destinations and no weight above 0; Gateway ${ts.ref} port ${port} is not served`);
      return undefined;
    }
    if (weighted.length === 1) return { ...base, stat_prefix: weighted[0]!.name, cluster: weighted[0]!.name };
    return { ...base, stat_prefix: weighted[0]!.name, weighted_clusters: { clusters: weighted } };
  }
  return undefined;
}

/** The gateway's TCP servers by server port. */
function tcpServersByPort(model: MeshModel, proxy: ProxyIdentity): Map<number, TcpServer[]> {
  const byPort = new Map<number, TcpServer[]>();
  for (const g of gatewaysForProxy(model, proxy)) {
    for (const s of g.spec?.servers ?? []) {
      if (!GATEWAY_TCP_PROTOCOLS.has(parseProtocol(s.port.protocol))) continue;
      const list = byPort.get(s.port.number) ?? [];
      list.push({ ref: `${g.metadata.namespace ?? 'default'}/${g.metadata.name}`, server: s, hosts: s.hosts.map((h) => stripHostNamespace(h).toLowerCase()) });
      byPort.set(s.port.number, list);
    }
  }
  return byPort;
}

/**
 * The listeners of the gateway's TCP servers, with Istio's TCP metrics (`istio.stats`) in
 * front of the tcp_proxy when they are on.
 */
export function buildGatewayTcpListeners(model: MeshModel, proxy: ProxyIdentity, tel: ListenerTelemetry, address: string, warnings: string[]): JsonObject[] {
  const out: JsonObject[] = [];
  // Ports with HTTP, HTTPS or TLS servers are served by those (build-routes.ts, build-gateway-tls.ts).
  const takenPorts = new Set(gatewaysForProxy(model, proxy).flatMap((g) => (g.spec?.servers ?? []).filter((s) => !GATEWAY_TCP_PROTOCOLS.has(parseProtocol(s.port.protocol))).map((s) => s.port.number)));
  const stats = tel.filters.find((f) => f.name === STATS_FILTER);
  for (const [port, servers] of [...tcpServersByPort(model, proxy)].sort(([a], [b]) => a - b)) {
    if (takenPorts.has(port)) {
      warnings.push(`Gateway ${servers.map((s) => s.ref).join(', ')}: the ${servers[0]!.server.port.protocol} server on port ${port} shares the port with HTTP or TLS servers; it is ignored`);
      continue;
    }
    let tcpProxy: JsonObject | undefined;
    for (const ts of servers) {
      tcpProxy = gatewayTcpProxy(model, proxy, ts, port, warnings);
      if (tcpProxy !== undefined) break;
    }
    if (tcpProxy === undefined) {
      warnings.push(`Gateway ${servers.map((s) => s.ref).join(', ')} port ${port} (${servers[0]!.server.port.protocol}): no VirtualService tcp route bound to the Gateway matches it; nothing is served`);
      continue;
    }
    const listenPort = gatewayListenPort(model, proxy, port);
    out.push({
      name: listenerName(address, listenPort),
      address: { socket_address: { address, port_value: listenPort } },
      traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [...(stats ? [stats] : []), { name: TCP_PROXY_FILTER, typed_config: tcpProxy }] }],
    });
  }
  return out;
}
