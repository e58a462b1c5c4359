/**
 * Protocol selection for a Service port, Istio's rules (`pkg/config/kube/conversion.go`
 * ConvertProtocol, `pkg/config/protocol/instance.go`):
 *   - a UDP port is UDP;
 *   - when `appProtocol` is set it is the name that counts (the port name is not looked at);
 *     Kubernetes' `kubernetes.io/h2c` is HTTP2, `kubernetes.io/ws` HTTP, `kubernetes.io/wss` HTTPS;
 *   - a name starting with `grpc-web` (any case) is GRPC-Web;
 *   - else the part before the first `-` (any case): tcp, udp, grpc, http, http_proxy, http2,
 *     https, tls, mongo, redis, mysql;
 *   - anything else is left to sniffing ("Unsupported"), except the well-known ports 25, 53,
 *     3306 and 27017, which are TCP.
 */

export type Protocol = 'HTTP' | 'HTTP2' | 'HTTPS' | 'HTTP_PROXY' | 'GRPC' | 'GRPC-Web' | 'TCP' | 'TLS' | 'UDP' | 'Mongo' | 'Redis' | 'MySQL' | 'Unsupported';

const BY_NAME: Readonly<Record<string, Protocol>> = {
  tcp: 'TCP',
  udp: 'UDP',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-Web',
  http: 'HTTP',
  http_proxy: 'HTTP_PROXY',
  http2: 'HTTP2',
  https: 'HTTPS',
  tls: 'TLS',
  mongo: 'Mongo',
  redis: 'Redis',
  mysql: 'MySQL',
};

/** Kubernetes' standard appProtocol values that Istio maps (compared exactly, as Istio does). */
const K8S_APP_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/** SMTP, DNS, MySQL, MongoDB: TCP when the name says nothing (sniffing would break them). */
export const WELL_KNOWN_TCP_PORTS: ReadonlySet<number> = new Set([25, 53, 3306, 27017]);

const GRPC_WEB = 'grpc-web';

/** What the validators say of a gRPC-Web port or server (the control plane treats it as HTTP). */
export const GRPC_WEB_AS_HTTP = 'selects gRPC-Web, which is not translated by minimesh: served as plain HTTP (HTTP/1.1 upstream, no gRPC-Web filter)';

/** The protocol named by a string such as `http`, `grpc-web`, `GRPC` (Istio's protocol.Parse: a Gateway's or ServiceEntry's `protocol`). */
export function parseProtocol(s: string | undefined): Protocol {
  if (!s) return 'Unsupported';
  return BY_NAME[s.toLowerCase()] ?? 'Unsupported';
}

/** The protocol a port name (or appProtocol) selects: `grpc-web` prefix first, then the part before the first `-`. */
export function protocolFromPortName(name: string | undefined): Protocol {
  if (!name) return 'Unsupported';
  if (name.slice(0, GRPC_WEB.length).toLowerCase() === GRPC_WEB) return 'GRPC-Web';
  const i = name.indexOf('-');
  return parseProtocol(i < 0 ? name : name.slice(0, i));
}

export function selectPortProtocol(port: { name?: string; port?: number; protocol?: string; appProtocol?: string }): Protocol {
  if (port.protocol === 'UDP') return 'UDP';
  let name = port.name;
  if (port.appProtocol) {
    const k8s = K8S_APP_PROTOCOLS[port.appProtocol];
    if (k8s) return k8s;
    name = port.appProtocol;
  }
  const p = protocolFromPortName(name);
  if (p === 'Unsupported' && port.port !== undefined && WELL_KNOWN_TCP_PORTS.has(port.port)) return 'TCP';
  return p;
}

/** Protocols served by the HTTP connection manager (Istio's IsHTTP): HTTP routes apply. */
export const isHttpProtocol = (p: Protocol): boolean => p === 'HTTP' || p === 'HTTP2' || p === 'HTTP_PROXY' || p === 'GRPC' || p === 'GRPC-Web';

/** Istio's IsHTTP2: HTTP2, GRPC, GRPC-Web (their clusters speak HTTP/2 upstream in Istio). */
export const isHttp2Protocol = (p: Protocol): boolean => p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';

/** A port name that does not follow the convention (istioctl analyze IST0118). */
export const followsPortNamingConvention = (port: { name?: string; appProtocol?: string }): boolean =>
  !!port.appProtocol || protocolFromPortName(port.name) !== 'Unsupported';
