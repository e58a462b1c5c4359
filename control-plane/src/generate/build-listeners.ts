/**
 * Listeners (LDS). By default (no iptables in front of the sidecar) Istio's older per-port
 * shape; under real capture (`captureMode`) the virtual listeners of build-capture.ts instead
 * (TLS ports' SNI listeners, `bind_to_port: false`, are in build-tls-outbound.ts):
 *   outbound  0.0.0.0_PORT per HTTP service port, rds "PORT"            (server: envoy)
 *   inbound   PODIP_PORT per port of the proxy's workload, inline route to inbound|PORT||
 *             (server: istio-envoy)
 *   gateway   0.0.0.0_PORT per HTTP server port (the pod's port: 80 -> 8080), rds "http.80",
 *             server: istio-envoy, use_remote_address: true
 */
import { ISTIO_SERVER_NAME } from '@minimesh/mesh';
import { isHttp2Protocol, isHttpProtocol, type Protocol } from '@minimesh/kube';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { compact, CORS_FILTER, FAULT_FILTER, ROUTER_FILTER, HCM_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { clusterName, inboundRouteName, inboundVirtualHostName, listenerName } from './naming.js';
import type { GatewayServerPort } from './build-routes.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { NO_AUTHZ, type InboundAuthz } from './authz/build-authz.js';

const ADS = { ads: {}, resource_api_version: 'V3' };

/**
 * Istio's HTTP filter order: metadata exchange, authorization (`rbac`: the inbound side only),
 * fault and cors (each emitted only when a route uses it), stats, router.
 */
export function httpFilters(routeConfig: JsonObject | undefined, tel: ListenerTelemetry, rbac: readonly JsonObject[] = []): JsonObject[] {
  const vhosts = JSON.stringify(routeConfig?.virtual_hosts ?? []);
  const uses = (filter: string, type: string): JsonObject[] => (vhosts.includes(`"${filter}"`) ? [{ name: filter, typed_config: { '@type': type } }] : []);
  const router = { name: ROUTER_FILTER, typed_config: { '@type': TYPE.Router } };
  const [mx, ...rest] = tel.filters;
  return [mx, ...rbac, ...uses(FAULT_FILTER, TYPE.HttpFault), ...uses(CORS_FILTER, TYPE.Cors), ...rest, router];
}

/** Every connection manager allows WebSocket upgrades, as Istio's do (routes may override). */
export const upgradeConfigs = (): JsonObject[] => [{ upgrade_type: 'websocket' }];

/** The connection manager's telemetry fields: its filters and access log. */
export function hcmTelemetry(routeConfig: JsonObject | undefined, tel: ListenerTelemetry, rbac: readonly JsonObject[] = []): JsonObject {
  return compact({ http_filters: httpFilters(routeConfig, tel, rbac), access_log: tel.accessLog });
}

function listener(name: string, address: string, port: number, direction: 'INBOUND' | 'OUTBOUND', hcm: JsonObject): JsonObject {
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    traffic_direction: direction,
    filter_chains: [{ filters: [{ name: HCM_FILTER, typed_config: { '@type': TYPE.HttpConnectionManager, ...hcm } }] }],
  };
}

/**
 * `connect`: the local mesh's forward proxy, which also answers CONNECT (http/connect-terminate.ts
 * in the proxy): the HCM lists CONNECT among its upgrades.
 */
export function buildOutboundListener(address: string, port: number, routeConfig: JsonObject, tel: ListenerTelemetry, connect = false): JsonObject {
  const name = listenerName(address, port);
  return listener(name, address, port, 'OUTBOUND', {
    stat_prefix: `outbound_${name}`,
    rds: { route_config_name: routeConfig.name as string, config_source: ADS },
    ...hcmTelemetry(routeConfig, tel),
    use_remote_address: false,
    upgrade_configs: connect ? [...upgradeConfigs(), { upgrade_type: 'CONNECT' }] : upgradeConfigs(),
  });
}

/** The ports the proxy's own workload serves: its services' endpoint ports on its IP, and its container ports. */
export function inboundPorts(model: MeshModel, proxy: ProxyIdentity): number[] {
  const ports = new Set<number>();
  for (const svc of model.services) for (const eps of svc.endpoints.values()) for (const e of eps) if (e.address === proxy.ip) ports.add(e.port);
  const w = model.workloads.find((x) => x.namespace === proxy.namespace && (x.name === proxy.podName || (x.address !== undefined && x.address === proxy.ip)));
  for (const p of w?.ports ?? []) ports.add(p.containerPort);
  return [...ports].sort((a, b) => a - b);
}

/** The services whose endpoints are the proxy's own workload on `port` (an inbound cluster's `istio.services`). */
export function inboundServices(model: MeshModel, proxy: ProxyIdentity, port: number): ServiceModel[] {
  return model.services.filter((svc) => [...svc.endpoints.values()].some((eps) => eps.some((e) => e.address === proxy.ip && e.port === port)));
}

/** The inbound ports whose service port speaks HTTP (or is sniffed): the ones `virtualInbound` routes as HTTP. */
export function inboundHttpPorts(model: MeshModel, proxy: ProxyIdentity): number[] {
  return inboundPorts(model, proxy).filter((port) =>
    inboundServices(model, proxy, port).some((svc) =>
      svc.ports.some((sp) => (isHttpProtocol(sp.protocol) || sp.protocol === 'Unsupported') && (svc.endpoints.get(sp.port) ?? []).some((e) => e.address === proxy.ip && e.port === port)),
    ),
  );
}

/**
 * The protocol of the proxy's own workload on `port`, from the service ports whose endpoints
 * it is (HTTP/2 and gRPC first, then HTTP, sniffed, TCP); undefined when no service says.
 */
export function inboundPortProtocol(model: MeshModel, proxy: ProxyIdentity, port: number): Protocol | undefined {
  const found: Protocol[] = [];
  for (const svc of inboundServices(model, proxy, port)) {
    for (const sp of svc.ports) if ((svc.endpoints.get(sp.port) ?? []).some((e) => e.address === proxy.ip && e.port === port)) found.push(sp.protocol);
  }
  const rank = (p: Protocol): number => (isHttp2Protocol(p) ? 0 : isHttpProtocol(p) ? 1 : p === 'Unsupported' ? 2 : 3);
  return found.sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * `authz`: the RBAC filters of the proxy's AuthorizationPolicies. `normalize_path` is Istio's
 * default path normalization (BASE), so a policy on `/admin` also sees `/./admin`.
 */
export function buildInboundListener(ip: string, port: number, tel: ListenerTelemetry, authz: InboundAuthz = NO_AUTHZ): JsonObject {
  const name = listenerName(ip, port);
  const cluster = clusterName({ direction: 'inbound', port });
  return listener(name, ip, port, 'INBOUND', {
    stat_prefix: `inbound_${name}`,
    route_config: {
      name: inboundRouteName(port),
      virtual_hosts: [{ name: inboundVirtualHostName(port), domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: '0s' } }] }],
      validate_clusters: false,
    },
    ...hcmTelemetry(undefined, tel, authz.http),
    server_name: ISTIO_SERVER_NAME,
    use_remote_address: false,
    normalize_path: true,
    upgrade_configs: upgradeConfigs(),
  });
}

/** `authn`: the gateway's jwt_authn filter (RequestAuthentication), if any. */
export function buildGatewayListener(sp: GatewayServerPort, routeConfig: JsonObject | undefined, tel: ListenerTelemetry, address = '0.0.0.0', authn: readonly JsonObject[] = []): JsonObject {
  const name = listenerName(address, sp.listenPort);
  return listener(
    name,
    address,
    sp.listenPort,
    'OUTBOUND',
    compact({
      stat_prefix: `outbound_${name}`,
      rds: { route_config_name: routeConfig?.name as string, config_source: ADS },
      ...hcmTelemetry(routeConfig, tel, authn),
      server_name: ISTIO_SERVER_NAME,
      use_remote_address: true,
      ...GATEWAY_CLIENT_CERT_DETAILS,
      upgrade_configs: upgradeConfigs(),
    }),
  );
}

/**
 * Istio's gateways: `x-forwarded-client-cert` from outside is never trusted (SANITIZE_SET), and
 * a client that presented a certificate (MUTUAL, ISTIO_MUTUAL) is described in a fresh one.
 */
export const GATEWAY_CLIENT_CERT_DETAILS = { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { subject: true, dns: true, uri: true } } as const;
