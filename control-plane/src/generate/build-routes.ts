/**
 * Route configurations (RDS):
 *   sidecar  one per service port, named after it ("9080"), a virtual host per service on that
 *            port answering to the names Istio lists, with its VirtualService's routes (the one
 *            Istio picks among several, merge-virtual-services.ts) or the default route;
 *   gateway  one per server port ("http.80"), a virtual host per host the bound VirtualServices
 *            share with the servers (their routes merged), or Istio's `blackhole:PORT` 404 when
 *            none is; HTTPS servers get one per server (build-gateway-tls.ts) from the same
 *            virtual hosts. Delegates are merged into their roots first (delegate-virtual-services.ts).
 */
import { isHttpProtocol, parseProtocol, type Gateway, type VirtualService } from '@minimesh/kube';
import { hostsIntersect, resolveHost, stripHostNamespace } from '../model/hostnames.js';
import type { MeshModel, ServiceModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import type { JsonObject } from './envoy-json.js';
import { clusterName, gatewayRouteName, PASSTHROUGH_CLUSTER, sidecarRouteName, virtualHostName } from './naming.js';
import { httpPorts } from './build-clusters.js';
import { buildDefaultRoute, MESH_GATEWAY, resolveGatewayNames, translateVirtualServiceRoutes, type RouteContext } from './translate-http-route.js';
import type { GenerateOptions } from './generate-options.js';
import { destinationHashPolicy } from './translate-traffic-policy.js';
import { resolveDelegates } from './delegate-virtual-services.js';
import { catchAllLast, intersectHosts, meshVirtualServiceFor, upToCatchAll } from './merge-virtual-services.js';

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';

/** The VirtualService hosts, resolved in its namespace. */
export const virtualServiceHosts = (vs: VirtualService, domainSuffix: string): string[] => (vs.spec?.hosts ?? []).map((h) => resolveHost(h, vsNs(vs), domainSuffix));

/** The VirtualServices with delegates merged into their roots; their problems join `warnings` once. */
function routableVirtualServices(model: MeshModel, warnings: string[]): readonly VirtualService[] {
  const r = resolveDelegates(model.virtualServices, model.domainSuffix);
  for (const w of r.warnings) if (!warnings.includes(w)) warnings.push(w);
  return r.virtualServices;
}

/** Istio's domains for a service port: FQDN and short forms, cluster IP, each with and without the port. */
export function serviceDomains(svc: ServiceModel, port: number, proxyNamespace: string, domainSuffix: string): string[] {
  const names = [svc.hostname];
  if (svc.origin === 'Service') {
    if (svc.namespace === proxyNamespace) names.push(svc.name);
    names.push(`${svc.name}.${svc.namespace}`, `${svc.name}.${svc.namespace}.svc`);
  }
  if (svc.clusterIP) names.push(svc.clusterIP);
  void domainSuffix;
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

function uniqueDomains(domains: string[], used: Set<string>): string[] {
  const out = domains.filter((d) => !used.has(d));
  for (const d of out) used.add(d);
  return out;
}

/** The default route with the service's consistent-hash policy, when its DestinationRule hashes. */
function withHashPolicy(route: JsonObject, hashPolicy: JsonObject | undefined): JsonObject {
  if (hashPolicy === undefined) return route;
  return { ...route, route: { ...(route.route as JsonObject), hash_policy: [hashPolicy] } };
}

export function buildSidecarRouteConfigs(model: MeshModel, proxy: ProxyIdentity, opts: GenerateOptions, warnings: string[]): JsonObject[] {
  const byPort = new Map<number, ServiceModel[]>();
  for (const svc of model.services) {
    for (const p of httpPorts(svc)) byPort.set(p.port, [...(byPort.get(p.port) ?? []), svc]);
  }
  const meshVs = routableVirtualServices(model, warnings).filter((vs) => resolveGatewayNames(vs.spec?.gateways, vsNs(vs)).includes(MESH_GATEWAY));
  const out: JsonObject[] = [];
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const used = new Set<string>();
    const ctx: RouteContext = { model, proxy, port, gateways: new Set([MESH_GATEWAY]), warnings };
    const vhosts: JsonObject[] = [];
    for (const svc of byPort.get(port)!) {
      const vs = meshVirtualServiceFor(meshVs, svc.hostname, model.domainSuffix, warnings);
      let routes = vs ? translateVirtualServiceRoutes(vs, ctx) : [];
      if (!vs || routes.length === 0) routes = [withHashPolicy(buildDefaultRoute(clusterName({ direction: 'outbound', port, host: svc.hostname })), destinationHashPolicy(model, proxy.namespace, svc.hostname, undefined, port))];
      const domains = uniqueDomains(serviceDomains(svc, port, proxy.namespace, model.domainSuffix), used);
      if (domains.length === 0) continue;
      vhosts.push({ name: virtualHostName(svc.hostname, port), domains, routes });
    }
    if (opts.passthroughCluster) vhosts.push({ name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: PASSTHROUGH_CLUSTER, timeout: '0s' } }] });
    out.push({ name: sidecarRouteName(port), virtual_hosts: vhosts, validate_clusters: false });
  }
  return out;
}

// ------------------------------------------------------------------ gateways

export interface GatewayServerPort {
  /** The server's port number (the gateway Service's port). */
  readonly number: number;
  /** The port the gateway's proxy listens on. */
  readonly listenPort: number;
  /** `namespace/name` of every Gateway with an HTTP server on this port, and that server's hosts. */
  readonly servers: readonly GatewayServerHosts[];
}

const selects = (sel: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);

/** The Gateways whose selector matches the proxy's labels (an empty selector matches nothing here). */
export function gatewaysForProxy(model: MeshModel, proxy: ProxyIdentity): Gateway[] {
  return model.gateways.filter((g) => g.spec?.selector && Object.keys(g.spec.selector).length > 0 && selects(g.spec.selector, proxy.labels));
}

/**
 * Server port -> the port the gateway's pod listens on: the targetPort of the gateway Service
 * that selects this proxy; without one in the model, Istio's default ingress gateway mapping
 * (80 -> 8080, 443 -> 8443) for `istio: ingressgateway`, else the port itself.
 */
export function gatewayListenPort(model: MeshModel, proxy: ProxyIdentity, port: number): number {
  for (const svc of model.services) {
    if (svc.origin !== 'Service' || !svc.selector || Object.keys(svc.selector).length === 0 || !selects(svc.selector, proxy.labels)) continue;
    const sp = svc.ports.find((p) => p.port === port);
    if (sp && typeof sp.targetPort === 'number') return sp.targetPort;
  }
  // Without a Service: the ports of Istio's gateway Services (ingress and egress: 80 -> 8080, 443 -> 8443).
  if (proxy.labels.istio === 'ingressgateway' || proxy.labels.istio === 'egressgateway') return ({ 80: 8080, 443: 8443 } as Record<number, number>)[port] ?? port;
  return port;
}

export function gatewayServerPorts(model: MeshModel, proxy: ProxyIdentity): GatewayServerPort[] {
  const byPort = new Map<number, GatewayServerHosts[]>();
  const gateways = gatewaysForProxy(model, proxy);
  // A port with HTTPS or TLS servers is a TLS port (build-gateway-tls.ts).
  const tlsPorts = new Set(gateways.flatMap((g) => (g.spec?.servers ?? []).filter((s) => ['HTTPS', 'TLS'].includes(parseProtocol(s.port.protocol))).map((s) => s.port.number)));
  for (const g of gateways) {
    for (const s of g.spec?.servers ?? []) {
      // HTTP, HTTP2, GRPC (and GRPC-WEB, as plain HTTP) servers.
      if (!isHttpProtocol(parseProtocol(s.port.protocol)) || tlsPorts.has(s.port.number)) continue;
      const list = byPort.get(s.port.number) ?? [];
      list.push({ gateway: `${g.metadata.namespace ?? 'default'}/${g.metadata.name}`, hosts: s.hosts.map(stripHostNamespace), httpsRedirect: s.tls?.httpsRedirect === true });
      byPort.set(s.port.number, list);
    }
  }
  return [...byPort.entries()].sort(([a], [b]) => a - b).map(([number, servers]) => ({ number, listenPort: gatewayListenPort(model, proxy, number), servers }));
}

/** A server's hosts on a port, for the virtual hosts of its route configuration. */
export interface GatewayServerHosts {
  readonly gateway: string;
  readonly hosts: readonly string[];
  /** `tls.httpsRedirect`: its virtual hosts answer plain-text requests with a 301 to https (`require_tls: ALL`). */
  readonly httpsRedirect?: boolean;
}

/**
 * The virtual hosts of the VirtualServices bound to the servers' Gateways, one per host
 * (merge-virtual-services.ts: hosts intersected, several VirtualServices' routes merged);
 * Istio's `blackhole:PORT` 404 when none is.
 */
export function gatewayVirtualHosts(model: MeshModel, proxy: ProxyIdentity, port: number, servers: readonly GatewayServerHosts[], warnings: string[]): JsonObject[] {
  const gatewayNames = new Set(servers.map((s) => s.gateway));
  const ctx: RouteContext = { model, proxy, port, gateways: gatewayNames, warnings };
  const byHost = new Map<string, { routes: JsonObject[]; redirect: boolean }>();
  for (const vs of routableVirtualServices(model, warnings)) {
    const bound = resolveGatewayNames(vs.spec?.gateways, vsNs(vs)).filter((g) => gatewayNames.has(g));
    if (bound.length === 0 || vs.spec?.http === undefined) continue;
    const boundServers = servers.filter((s) => bound.includes(s.gateway));
    const hosts = intersectHosts(boundServers.flatMap((s) => s.hosts), virtualServiceHosts(vs, model.domainSuffix));
    if (hosts.length === 0) continue;
    const routes = upToCatchAll(translateVirtualServiceRoutes(vs, ctx));
    for (const h of hosts) {
      const redirect = boundServers.some((s) => s.httpsRedirect === true && s.hosts.some((sh) => hostsIntersect(sh, h)));
      const vh = byHost.get(h);
      if (vh) {
        vh.routes.push(...routes);
        vh.redirect ||= redirect;
      } else byHost.set(h, { routes: [...routes], redirect });
    }
  }
  const vhosts = [...byHost].map(([h, vh]) => ({
    name: virtualHostName(h, port),
    // A wildcard host takes no `:*` form (one wildcard per domain); the proxy retries without the port.
    domains: h.startsWith('*') ? [h] : [h, `${h}:*`],
    routes: catchAllLast(vh.routes),
    ...(vh.redirect ? { require_tls: 'ALL' } : {}),
  }));
  if (vhosts.length === 0) {
    return [{ name: `blackhole:${port}`, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, direct_response: { status: 404 } }] }];
  }
  return vhosts;
}

export function buildGatewayRouteConfigs(model: MeshModel, proxy: ProxyIdentity, warnings: string[]): JsonObject[] {
  return gatewayServerPorts(model, proxy).map((sp) => ({ name: gatewayRouteName(sp.number), virtual_hosts: gatewayVirtualHosts(model, proxy, sp.number, sp.servers, warnings), validate_clusters: false }));
}
