/**
 * TCP service ports (Istio's protocol selection makes them TCP: `tcp-`, `mongo-`, `redis-`,
 * ... or their appProtocol) in the local mesh, where apps reach their sidecar as an HTTP proxy:
 *   outbound  a virtual host per TCP service port in the forward proxy's `virtualOutbound`
 *             route configuration, its domains the service's names with the port, holding one
 *             route that matches CONNECT (`connect_matcher`) and terminates it to
 *             `outbound|PORT||HOST` (`upgrade_configs: [{upgrade_type: CONNECT, connect_config: {}}]`):
 *             the sidecar answers `CONNECT host:port` and relays the tunnel as TCP;
 *   inbound   PODIP_PORT with `istio.stats` (Istio's TCP metrics) then tcp_proxy to
 *             `inbound|PORT||`, as Istio's inbound TCP filter chains.
 */
import { isHttpProtocol } from '@minimesh/kube';
import { STATS_FILTER } from '@minimesh/mesh';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { clusterName, listenerName } from './naming.js';
import { serviceDomains } from './build-routes.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { NO_AUTHZ, type InboundAuthz } from './authz/build-authz.js';
import { tcpTarget, tcpTargetRouteFields } from './translate-tcp-route.js';

/** The ports of a service that Istio's protocol selection makes TCP (not HTTP, not sniffed, not UDP). */
export const tcpPorts = (svc: ServiceModel) => svc.ports.filter((p) => !isHttpProtocol(p.protocol) && p.protocol !== 'Unsupported' && p.protocol !== 'UDP');

/**
 * The forward proxy's virtual hosts for TCP service ports: CONNECT terminated to the port's
 * cluster, or to the weighted clusters of a VirtualService `tcp` route (translate-tcp-route.ts).
 */
export function buildConnectVirtualHosts(model: MeshModel, proxy: ProxyIdentity, warnings: string[] = []): JsonObject[] {
  const out: JsonObject[] = [];
  for (const svc of model.services) {
    for (const p of tcpPorts(svc)) {
      const target = tcpTargetRouteFields(tcpTarget(model, proxy, svc, p.port, warnings));
      const domains = serviceDomains(svc, p.port, proxy.namespace, model.domainSuffix).filter((d) => d.endsWith(`:${p.port}`));
      out.push({
        name: `${svc.hostname}:${p.port}`,
        domains,
        routes: [{ name: 'default', match: { connect_matcher: {} }, route: { ...target, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }],
      });
    }
  }
  return out;
}

/** The `istio.stats` filter of a listener's telemetry, as a network filter (undefined: metrics off). */
function statsNetworkFilter(tel: ListenerTelemetry): JsonObject | undefined {
  return tel.filters.find((f) => f.name === STATS_FILTER);
}

/** An inbound TCP listener: the pod's port, authorization (network RBAC), Istio's TCP metrics, tcp_proxy to `inbound|PORT||`. */
export function buildInboundTcpListener(ip: string, port: number, tel: ListenerTelemetry, authz: InboundAuthz = NO_AUTHZ): JsonObject {
  const name = listenerName(ip, port);
  const cluster = clusterName({ direction: 'inbound', port });
  const stats = statsNetworkFilter(tel);
  return {
    name,
    address: { socket_address: { address: ip, port_value: port } },
    traffic_direction: 'INBOUND',
    filter_chains: [
      {
        filters: [
          ...authz.tcp,
          ...(stats ? [stats] : []),
          { name: TCP_PROXY_FILTER, typed_config: { '@type': TYPE.TcpProxy, stat_prefix: cluster, cluster } },
        ],
      },
    ],
  };
}
