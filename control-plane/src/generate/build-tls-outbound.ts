/**
 * TLS egress by SNI on sidecars (Istio's outbound listener of a TLS port, e.g. `0.0.0.0_443`):
 * for each port that some visible service declares with protocol TLS or HTTPS, a listener
 *   name `0.0.0.0_PORT`, `bind_to_port: false` (never bound: the capture listener hands it
 *   connections whose original destination port is PORT, and the local mesh's forward proxy
 *   the tunnel of a `CONNECT host:PORT`), `tls_inspector`, and one filter chain per
 *   - VirtualService `tls` route match bound to `mesh` (hosts among the port's services, or
 *     `match.port` PORT): `server_names` its `sniHosts`, a tcp_proxy to the route's
 *     destinations (weighted clusters for several), bytes passed through untouched;
 *   - TLS service host no route claims: `server_names` [host], tcp_proxy to `outbound|PORT||host`
 *     (a ServiceEntry of protocol TLS with no VirtualService still passes through by SNI), or
 *     to its VirtualService `tcp` route's clusters (Istio's fallback after the tls routes);
 *   - under capture with ALLOW_ANY, a last chain without match to PassthroughCluster (Envoy's
 *     passthrough chain: the destination the client dialled). In the local mesh the CONNECT
 *     route's own cluster plays that part (proxy/src/http/connect-terminate.ts); REGISTRY_ONLY:
 *     no such chain, an unknown SNI is closed (Istio's BlackHoleCluster).
 * A server name goes to the first chain that claims it (VirtualServices oldest first, then
 * services), as Envoy rejects two chains with the same match. The chains carry `istio.stats`
 * before tcp_proxy, so Istio's TCP metrics count them as any outbound TCP.
 */
import { STATS_FILTER } from '@minimesh/mesh';
import type { VirtualService } from '@minimesh/kube';
import { hostMatches } from '../model/hostnames.js';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { listenerName, PASSTHROUGH_CLUSTER } from './naming.js';
import { tcpTarget } from './translate-tcp-route.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { virtualServiceHosts } from './build-routes.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { routeTcpProxy } from './gateway-passthrough.js';
import { MESH_GATEWAY, resolveGatewayNames } from './translate-http-route.js';
import { TLS_INSPECTOR, TLS_INSPECTOR_TYPE } from './build-inbound-mtls.js';

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';

export interface TlsOutboundOptions {
  /** Under capture: connections with any original destination come (a passthrough chain then). */
  readonly capture: boolean;
  /** REGISTRY_ONLY: no passthrough chain. */
  readonly registryOnly: boolean;
}

/** The service ports of protocol TLS or HTTPS, by port number (services in model order). */
export function tlsServicePorts(model: MeshModel, capture: boolean): Map<number, ServiceModel[]> {
  const out = new Map<number, ServiceModel[]>();
  for (const svc of model.services) {
    // resolution NONE is an ORIGINAL_DST cluster: only capture knows a destination to dial.
    if (svc.resolution === 'NONE' && !capture) continue;
    for (const p of svc.ports) {
      if (p.protocol !== 'TLS' && p.protocol !== 'HTTPS') continue;
      const list = out.get(p.port) ?? [];
      if (!list.includes(svc)) list.push(svc);
      out.set(p.port, list);
    }
  }
  return new Map([...out.entries()].sort(([a], [b]) => a - b));
}

function chain(names: readonly string[], tcpProxy: JsonObject, stats: JsonObject | undefined): JsonObject {
  return {
    ...(names.length > 0 ? { filter_chain_match: { server_names: [...names] } } : {}),
    filters: [...(stats ? [stats] : []), { name: TCP_PROXY_FILTER, typed_config: tcpProxy }],
  };
}

/** The chains of one port (see above). */
export function tlsPortChains(model: MeshModel, proxy: ProxyIdentity, port: number, services: readonly ServiceModel[], tel: ListenerTelemetry, opts: TlsOutboundOptions, warnings: string[]): JsonObject[] {
  const stats = tel.filters.find((f) => f.name === STATS_FILTER);
  const claimed = new Set<string>();
  let catchAll = false;
  const chains: JsonObject[] = [];
  const claim = (sni: readonly string[]): string[] | undefined => {
    const names = sni.map((h) => h.toLowerCase()).filter((h) => h !== '*' && !claimed.has(h));
    if (sni.includes('*')) {
      if (catchAll) return undefined;
      catchAll = true;
      return [];
    }
    if (names.length === 0) return undefined;
    for (const n of names) claimed.add(n);
    return names;
  };
  for (const vs of model.virtualServices) {
    if ((vs.spec?.tls?.length ?? 0) === 0 || !resolveGatewayNames(vs.spec?.gateways, vsNs(vs)).includes(MESH_GATEWAY)) continue;
    const hosts = virtualServiceHosts(vs, model.domainSuffix);
    const forPort = services.some((svc) => hosts.some((h) => hostMatches(h, svc.hostname)));
    vs.spec!.tls!.forEach((route, i) => {
      (route.match ?? []).forEach((m, j) => {
        if (m.port !== undefined ? m.port !== port : !forPort) return;
        if (m.gateways !== undefined && !resolveGatewayNames(m.gateways, vsNs(vs)).includes(MESH_GATEWAY)) return;
        const tcpProxy = routeTcpProxy(model, vs, route, `tls[${i}].match[${j}]`, warnings);
        if (tcpProxy === undefined) return;
        const names = claim(m.sniHosts ?? []);
        if (names === undefined) {
          warnings.push(`VirtualService ${vsNs(vs)}/${vs.metadata.name} tls[${i}].match[${j}]: sniHosts ${(m.sniHosts ?? []).join(', ')} on port ${port} are already claimed by an earlier match; this one is ignored`);
          return;
        }
        chains.push(chain(names, tcpProxy, stats));
      });
    });
  }
  for (const svc of services) {
    const names = claim([svc.hostname]);
    if (names === undefined) continue;
    // The service's own cluster, or its VirtualService `tcp` route (Istio's fallback after tls routes).
    const t = tcpTarget(model, proxy, svc, port, warnings);
    const target = 'cluster' in t ? { stat_prefix: t.cluster, cluster: t.cluster } : { stat_prefix: t.weighted[0]!.name, weighted_clusters: { clusters: t.weighted.map((w) => ({ name: w.name, weight: w.weight })) } };
    chains.push(chain(names, { '@type': TYPE.TcpProxy, ...target }, stats));
  }
  if (opts.capture && !opts.registryOnly && !catchAll) chains.push(chain([], { '@type': TYPE.TcpProxy, stat_prefix: PASSTHROUGH_CLUSTER, cluster: PASSTHROUGH_CLUSTER }, stats));
  return chains;
}

/** The `0.0.0.0_PORT` listeners of the TLS ports (see above); none for a port without a chain that names a server. */
export function buildTlsOutboundListeners(model: MeshModel, proxy: ProxyIdentity, tel: ListenerTelemetry, opts: TlsOutboundOptions, warnings: string[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const [port, services] of tlsServicePorts(model, opts.capture)) {
    const chains = tlsPortChains(model, proxy, port, services, tel, opts, warnings);
    if (!chains.some((c) => c.filter_chain_match !== undefined)) continue;
    out.push({
      name: listenerName('0.0.0.0', port),
      address: { socket_address: { address: '0.0.0.0', port_value: port } },
      bind_to_port: false,
      traffic_direction: 'OUTBOUND',
      listener_filters: [{ name: TLS_INSPECTOR, typed_config: { '@type': TLS_INSPECTOR_TYPE } }],
      filter_chains: chains,
    });
  }
  return out;
}
