/**
 * A gateway proxy's TLS ports: every port with HTTPS or TLS servers becomes one listener
 * (`0.0.0.0_<pod port>`, the tls_inspector in front) with a filter chain per server:
 *   HTTPS  SIMPLE / MUTUAL / ISTIO_MUTUAL  `server_names` from the server's hosts (none for `*`),
 *          the server's DownstreamTlsContext (gateway-tls-context.ts), an HCM on the route
 *          configuration `https.<port>.<port name>.<gateway>.<namespace>` holding the virtual
 *          hosts of the VirtualServices bound to that Gateway;
 *   PASSTHROUGH  SNI chains to tcp_proxy (gateway-passthrough.ts).
 * The Secrets a server's credentialName names are resolved in the gateway proxy's namespace
 * and sent as SDS `Secret`s; a server whose Secret is missing or malformed is left out with a
 * warning naming the Gateway and credentialName, and the other servers keep serving.
 */
import { ISTIO_SERVER_NAME } from '@minimesh/mesh';
import { parseProtocol, type Gateway, type GatewayServer } from '@minimesh/kube';
import { stripHostNamespace } from '../model/hostnames.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { compact, HCM_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { gatewayListenPort, gatewaysForProxy, gatewayVirtualHosts } from './build-routes.js';
import { GATEWAY_CLIENT_CERT_DETAILS, hcmTelemetry, upgradeConfigs } from './build-listeners.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { listenerName } from './naming.js';
import { tlsInspector } from './build-inbound-mtls.js';
import { gatewayServerTransportSocket } from './gateway-tls-context.js';
import { passthroughChains } from './gateway-passthrough.js';
import { credentialCaResourceName, credentialResourceName, resolveCredentialCa, resolveServerCredential, tlsCertificateSecret, validationContextSecret } from './gateway-credentials.js';

const ADS = { ads: {}, resource_api_version: 'V3' };

/** Istio's name of an HTTPS server's route configuration. */
export const httpsRouteName = (port: number, portName: string, gateway: string, namespace: string): string => `https.${port}.${portName}.${gateway}.${namespace}`;

export interface GatewayTlsResources {
  readonly listeners: JsonObject[];
  readonly routes: JsonObject[];
  /** Envoy `Secret`s (SDS) for the credentialNames the chains use. */
  readonly secrets: JsonObject[];
}

interface TlsServer {
  readonly gateway: Gateway;
  readonly ref: string;
  readonly server: GatewayServer;
  readonly hosts: string[];
}

const isTlsServer = (s: GatewayServer): boolean => ['HTTPS', 'TLS'].includes(parseProtocol(s.port.protocol));

function tlsServersByPort(model: MeshModel, proxy: ProxyIdentity): Map<number, TlsServer[]> {
  const byPort = new Map<number, TlsServer[]>();
  for (const g of gatewaysForProxy(model, proxy)) {
    for (const s of g.spec?.servers ?? []) {
      if (!isTlsServer(s)) continue;
      const list = byPort.get(s.port.number) ?? [];
      list.push({ gateway: g, ref: `${g.metadata.namespace ?? 'default'}/${g.metadata.name}`, server: s, hosts: s.hosts.map((h) => stripHostNamespace(h).toLowerCase()) });
      byPort.set(s.port.number, list);
    }
  }
  return byPort;
}

export interface GatewayTlsOptions {
  readonly tel: ListenerTelemetry;
  readonly address: string;
  /** The gateway's jwt_authn filter (RequestAuthentication), if any. */
  readonly authn: readonly JsonObject[];
}

export function buildGatewayTlsResources(model: MeshModel, proxy: ProxyIdentity, o: GatewayTlsOptions, warnings: string[]): GatewayTlsResources {
  const out: GatewayTlsResources = { listeners: [], routes: [], secrets: [] };
  for (const [port, servers] of [...tlsServersByPort(model, proxy)].sort(([a], [b]) => a - b)) {
    const listenPort = gatewayListenPort(model, proxy, port);
    const name = listenerName(o.address, listenPort);
    const chains: JsonObject[] = [];
    const seen = new Set<string>();
    for (const ts of servers) {
      const what = `Gateway ${ts.ref} server on port ${port} (hosts ${ts.hosts.join(', ')})`;
      const made = serverChains(model, proxy, ts, port, name, o, out, what, warnings);
      for (const c of made) {
        const key = JSON.stringify([...((c.filter_chain_match as { server_names?: string[] } | undefined)?.server_names ?? [])].sort());
        if (seen.has(key)) {
          warnings.push(`${what}: its SNI match ${key} repeats an earlier server's on the same port; ignored`);
          continue;
        }
        seen.add(key);
        chains.push(c);
      }
    }
    if (chains.length === 0) continue;
    out.listeners.push({ name, address: { socket_address: { address: o.address, port_value: listenPort } }, traffic_direction: 'OUTBOUND', listener_filters: [tlsInspector()], filter_chains: chains });
  }
  return out;
}

function serverChains(model: MeshModel, proxy: ProxyIdentity, ts: TlsServer, port: number, listener: string, o: GatewayTlsOptions, out: GatewayTlsResources, what: string, warnings: string[]): JsonObject[] {
  const tls = ts.server.tls ?? {};
  // Istio's enum: an unset mode is PASSTHROUGH (the validator warns when certificates are given).
  const mode = tls.mode ?? 'PASSTHROUGH';
  if (mode === 'PASSTHROUGH') {
    const chains = passthroughChains(model, ts.ref, port, ts.hosts, warnings);
    if (chains.length === 0) warnings.push(`${what}: PASSTHROUGH, but no VirtualService tls route bound to the Gateway matches its hosts; nothing is served`);
    return chains;
  }
  if (parseProtocol(ts.server.port.protocol) !== 'HTTPS' || !['SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'].includes(mode)) return []; // the validator warned
  if (tls.credentialName !== undefined && mode !== 'ISTIO_MUTUAL' && !addCredentialSecrets(model, proxy, tls.credentialName, mode === 'MUTUAL', out, what, warnings)) return [];
  const gwName = ts.gateway.metadata.name;
  const gwNs = ts.gateway.metadata.namespace ?? 'default';
  const routeName = httpsRouteName(port, ts.server.port.name ?? '', gwName, gwNs);
  let rc = out.routes.find((r) => r.name === routeName);
  if (rc === undefined) {
    rc = { name: routeName, virtual_hosts: gatewayVirtualHosts(model, proxy, port, [{ gateway: ts.ref, hosts: ts.hosts }], warnings), validate_clusters: false };
    out.routes.push(rc);
  }
  const names = ts.hosts.filter((h) => h !== '*');
  const hcm = compact({
    '@type': TYPE.HttpConnectionManager,
    stat_prefix: `outbound_${listener}`,
    rds: { route_config_name: routeName, config_source: ADS },
    ...hcmTelemetry(rc, o.tel, o.authn),
    server_name: ISTIO_SERVER_NAME,
    use_remote_address: true,
    ...GATEWAY_CLIENT_CERT_DETAILS,
    upgrade_configs: upgradeConfigs(),
  });
  return [
    {
      ...(names.length > 0 && !ts.hosts.includes('*') ? { filter_chain_match: { server_names: names } } : {}),
      transport_socket: gatewayServerTransportSocket({ ...tls, mode }),
      filters: [{ name: HCM_FILTER, typed_config: hcm }],
    },
  ];
}

/** Adds the SDS Secrets of `credentialName` (its CA too for MUTUAL); false, with a warning, when they cannot be had. */
function addCredentialSecrets(model: MeshModel, proxy: ProxyIdentity, credentialName: string, mutual: boolean, out: GatewayTlsResources, what: string, warnings: string[]): boolean {
  const fail = (why: string): false => {
    warnings.push(`${what}: credentialName ${credentialName}: ${why}; this server is not served until it is fixed`);
    return false;
  };
  const cert = resolveServerCredential(model, proxy.namespace, credentialName);
  if (!cert.ok) return fail(cert.why);
  const ca = mutual ? resolveCredentialCa(model, proxy.namespace, credentialName) : undefined;
  if (ca !== undefined && !ca.ok) return fail(ca.why);
  const add = (s: JsonObject): void => {
    if (!out.secrets.some((x) => x.name === s.name)) out.secrets.push(s);
  };
  add(tlsCertificateSecret(credentialResourceName(credentialName), cert.value) as JsonObject);
  if (ca?.ok) add(validationContextSecret(credentialCaResourceName(credentialName), ca.value) as JsonObject);
  return true;
}
