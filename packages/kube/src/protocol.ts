/**
 * Protocol selection for a Service port, Istio's rules (pkg/config/kube/conversion.go):
 * `appProtocol` wins; else the port name `<proto>` or `<proto>-<suffix>` (case-insensitive);
 * UDP ports are UDP; anything else is left to sniffing ("Unsupported" in Istio, HTTP-or-TCP).
 */

export type Protocol = 'HTTP' | 'HTTP2' | 'HTTPS' | 'GRPC' | 'GRPC-Web' | 'TCP' | 'TLS' | 'UDP' | 'Mongo' | 'Redis' | 'MySQL' | 'Unsupported';

const BY_NAME: Readonly<Record<string, Protocol>> = {
  http: 'HTTP',
  http2: 'HTTP2',
  https: 'HTTPS',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-Web',
  tcp: 'TCP',
  tls: 'TLS',
  udp: 'UDP',
  mongo: 'Mongo',
  redis: 'Redis',
  mysql: 'MySQL',
};

/** Kubernetes' standard appProtocol values that Istio maps. */
const K8S_APP_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/** The protocol named by a string such as `http`, `grpc-web`, `GRPC` (a Gateway's `protocol`). */
export function parseProtocol(s: string | undefined): Protocol {
  if (!s) return 'Unsupported';
  const l = s.toLowerCase();
  return K8S_APP_PROTOCOLS[l] ?? BY_NAME[l] ?? 'Unsupported';
}

/** The protocol a port name selects: `http`, `http-web`, `grpc-web` and `grpc-web-x` included. */
export function protocolFromPortName(name: string | undefined): Protocol {
  if (!name) return 'Unsupported';
  const l = name.toLowerCase();
  if (l === 'grpc-web' || l.startsWith('grpc-web-')) return 'GRPC-Web';
  const i = l.indexOf('-');
  return BY_NAME[i < 0 ? l : l.slice(0, i)] ?? 'Unsupported';
}

export function selectPortProtocol(port: { name?: string; protocol?: string; appProtocol?: string }): Protocol {
  if (port.protocol === 'UDP') return 'UDP';
  if (port.appProtocol) {
    const p = parseProtocol(port.appProtocol);
    if (p !== 'Unsupported') return p;
  }
  return protocolFromPortName(port.name);
}

/** Protocols served by the HTTP connection manager (HTTP routes apply). */
export const isHttpProtocol = (p: Protocol): boolean => p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';

/** A port name that does not follow the convention (istioctl analyze IST0118). */
export const followsPortNamingConvention = (port: { name?: string; appProtocol?: string }): boolean =>
  !!port.appProtocol || protocolFromPortName(port.name) !== 'Unsupported';
