/**
 * Sidecars under real capture (`captureMode`): Istio's two virtual listeners, in the shape
 * minimesh's proxy runs (one filter chain each; the capture code in proxy/src/capture/ does
 * what Envoy's filter chain matching and original-destination hand-off do).
 *
 *   virtualOutbound  0.0.0.0:15001, use_original_dst, OUTBOUND. One HCM whose route
 *                    configuration `virtualOutbound` holds every service's virtual hosts (FQDN,
 *                    short names, cluster IP, with and without the port): HTTP is routed by
 *                    Host, and handed to the HCM when Host or the original destination
 *                    (CLUSTER_IP:PORT) names a virtual host. Ports Istio's protocol selection
 *                    makes TCP go to `metadata.filter_metadata["minimesh.capture"].tcp_ports`
 *                    (proxied as TCP through the service's cluster, `tcp_clusters`, or to the
 *                    original destination); anything the mesh does not
 *                    know goes to `PassthroughCluster` (ORIGINAL_DST) at the connection level
 *                    (under REGISTRY_ONLY, `registry_only`: closed, Istio's BlackHoleCluster;
 *                    HTTP to an unknown Host meets the `block_all` virtual host's 502).
 *                    No `allow_any` virtual host: it would claim every Host for the HCM.
 *   virtualInbound   0.0.0.0:15006: build-capture-inbound.ts (per-port filter chains by
 *                    PeerAuthentication mode).
 */
import { isHttpProtocol } from '@minimesh/kube';
import { CAPTURE_METADATA } from '@minimesh/config';
import { PORTS } from '@minimesh/mesh';
import type { MeshModel } from '../model/mesh-model.js';
import { HCM_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { hcmTelemetry, upgradeConfigs } from './build-listeners.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { clusterName } from './naming.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { tcpTarget } from './translate-tcp-route.js';

export const VIRTUAL_OUTBOUND = 'virtualOutbound';
export { VIRTUAL_INBOUND } from './build-capture-inbound.js';

const ADS = { ads: {}, resource_api_version: 'V3' };

function captureListener(name: string, port: number, direction: 'INBOUND' | 'OUTBOUND', hcm: JsonObject, metadata?: JsonObject): JsonObject {
  return {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    use_original_dst: true,
    traffic_direction: direction,
    ...(metadata ? { metadata } : {}),
    filter_chains: [{ filters: [{ name: HCM_FILTER, typed_config: { '@type': TYPE.HttpConnectionManager, ...hcm } }] }],
  };
}

/**
 * The service ports Istio's protocol selection makes TCP (port name `tcp-`, `mongo-`, `redis-`,
 * `mysql-`, `tls-`, `https-` or the same `appProtocol`). Unnamed ports are sniffed by the
 * proxy. A port number that is HTTP (or unnamed) for another service stays sniffed: the
 * proxy's list is per port, not per address, so that service would lose its HTTP routing.
 */
export function captureTcpPorts(model: MeshModel, warnings: string[]): number[] {
  const tcp = new Map<number, string>();
  const sniffed = new Set<number>();
  for (const svc of model.services) {
    for (const p of svc.ports) {
      if (p.protocol === 'UDP') continue;
      if (isHttpProtocol(p.protocol) || p.protocol === 'Unsupported') sniffed.add(p.port);
      else if (!tcp.has(p.port)) tcp.set(p.port, svc.hostname);
    }
  }
  const out: number[] = [];
  for (const [port, host] of [...tcp.entries()].sort(([a], [b]) => a - b)) {
    if (sniffed.has(port)) {
      warnings.push(`port ${port} is TCP for ${host} but HTTP (or unnamed) for another service: sniffed on ${VIRTUAL_OUTBOUND}, not proxied as TCP`);
      continue;
    }
    out.push(port);
  }
  return out;
}

/** A TCP address's cluster, or clusters with weights. */
export type CaptureTcpTarget = string | { name: string; weight: number }[];

/**
 * `CLUSTER_IP:PORT` -> `outbound|PORT||HOST` (or a VirtualService `tcp` route's clusters, with weights) for the TCP ports of services with a cluster IP:
 * a connection there goes through the service's cluster (its endpoints, its TLS: auto mTLS to
 * sidecars), as Istio's per-service tcp_proxy chains on virtualOutbound send it.
 */
export function captureTcpClusters(model: MeshModel, tcpPorts: readonly number[], proxy?: ProxyIdentity, warnings: string[] = []): Record<string, CaptureTcpTarget> {
  const out: Record<string, CaptureTcpTarget> = {};
  for (const svc of model.services) {
    if (svc.clusterIP === undefined || svc.clusterIP === '' || svc.clusterIP === 'None') continue;
    for (const p of svc.ports) {
      if (!tcpPorts.includes(p.port) || p.protocol === 'UDP') continue;
      const key = `${svc.clusterIP}:${p.port}`;
      if (proxy === undefined) {
        out[key] = clusterName({ direction: 'outbound', port: p.port, host: svc.hostname });
        continue;
      }
      // A VirtualService `tcp` route: its cluster, or its weighted clusters (one per connection).
      const t = tcpTarget(model, proxy, svc, p.port, warnings);
      out[key] = 'cluster' in t ? t.cluster : t.weighted.map((w) => ({ name: w.name, weight: w.weight }));
    }
  }
  return out;
}

/** `registryOnly` (outboundTrafficPolicy REGISTRY_ONLY): TCP to unknown destinations is closed (BlackHoleCluster), not passed through. */
export function buildVirtualOutboundListener(routeConfig: JsonObject, tcpPorts: readonly number[], tel: ListenerTelemetry, tcpClusters: Readonly<Record<string, CaptureTcpTarget>> = {}, registryOnly = false): JsonObject {
  const clusters = Object.keys(tcpClusters).length > 0 ? { tcp_clusters: { ...tcpClusters } } : {};
  const fields = { ...(tcpPorts.length > 0 ? { tcp_ports: [...tcpPorts], ...clusters } : {}), ...(registryOnly ? { registry_only: true } : {}) };
  const metadata = Object.keys(fields).length > 0 ? { filter_metadata: { [CAPTURE_METADATA]: fields } } : undefined;
  return captureListener(
    VIRTUAL_OUTBOUND,
    PORTS.outboundCapture,
    'OUTBOUND',
    {
      stat_prefix: `outbound_0.0.0.0_${PORTS.outboundCapture}`,
      rds: { route_config_name: routeConfig.name as string, config_source: ADS },
      ...hcmTelemetry(routeConfig, tel),
      use_remote_address: false,
      upgrade_configs: upgradeConfigs(),
    },
    metadata,
  );
}
