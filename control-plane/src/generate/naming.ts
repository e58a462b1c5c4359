/**
 * Istio's resource names. One builder and one parser per name; nothing else concatenates them.
 *   cluster  outbound|8102||customer-service.default.svc.cluster.local   (pilot BuildSubsetKey)
 *            outbound|9080|v1|reviews.default.svc.cluster.local
 *            inbound|8102||
 *   route    8102 (sidecar, per port), http.80 (gateway, per server port)
 *   listener 0.0.0.0_8102 (outbound per port), <podIP>_<port> (inbound per port)
 */
import { PASSTHROUGH_CLUSTER, BLACKHOLE_CLUSTER } from '@minimesh/mesh';

export { PASSTHROUGH_CLUSTER, BLACKHOLE_CLUSTER };

export type TrafficDirection = 'outbound' | 'inbound';

export interface ClusterKey {
  readonly direction: TrafficDirection;
  readonly port: number;
  readonly subset?: string;
  readonly host?: string;
}

export function clusterName(k: ClusterKey): string {
  return `${k.direction}|${k.port}|${k.subset ?? ''}|${k.host ?? ''}`;
}

/** Parses `direction|port|subset|host`; undefined for any other name (PassthroughCluster, ...). */
export function parseClusterName(name: string): Required<Omit<ClusterKey, 'subset' | 'host'>> & { subset: string | undefined; host: string | undefined } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts;
  if (direction !== 'outbound' && direction !== 'inbound') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || port === '') return undefined;
  return { direction, port: n, subset: subset || undefined, host: host || undefined };
}

/** Sidecar outbound route configuration: named after the port. */
export const sidecarRouteName = (port: number): string => String(port);

/** Gateway route configuration: `http.<server port number>`. */
export const gatewayRouteName = (serverPort: number): string => `http.${serverPort}`;

export function parseRouteName(name: string): { kind: 'sidecar' | 'gateway'; port: number } | undefined {
  const m = /^(http\.)?(\d{1,5})$/.exec(name);
  if (!m) return undefined;
  return { kind: m[1] ? 'gateway' : 'sidecar', port: Number(m[2]) };
}

export const listenerName = (address: string, port: number): string => `${address}_${port}`;

export function parseListenerName(name: string): { address: string; port: number } | undefined {
  const i = name.lastIndexOf('_');
  if (i <= 0) return undefined;
  const port = Number(name.slice(i + 1));
  return Number.isInteger(port) && port > 0 && port <= 65535 ? { address: name.slice(0, i), port } : undefined;
}

/** Virtual host of a service port on a sidecar route: `reviews.default.svc.cluster.local:9080`. */
export const virtualHostName = (host: string, port: number): string => `${host}:${port}`;

/** Inbound route configuration and its virtual host, as Istio names them. */
export const inboundRouteName = (port: number): string => clusterName({ direction: 'inbound', port });
export const inboundVirtualHostName = (port: number): string => `inbound|http|${port}`;
