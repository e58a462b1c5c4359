/** The entry point: (model, proxy) -> the Envoy resources that proxy gets. Pure. */
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { buildInboundCluster, buildOutboundClusters, buildPassthroughCluster } from './build-clusters.js';
import { buildVirtualOutboundListener, captureTcpClusters, captureTcpPorts } from './build-capture.js';
import { buildInboundPassthroughCluster, buildVirtualInboundListener } from './build-capture-inbound.js';
import { buildEndpoints } from './build-endpoints.js';
import { buildGatewayListener, buildInboundListener, buildOutboundListener, inboundPortProtocol, inboundPorts, inboundServices } from './build-listeners.js';
import { buildConnectVirtualHosts, buildInboundTcpListener } from './build-tcp.js';
import { isHttpProtocol } from '@minimesh/kube';
import { buildGatewayRouteConfigs, buildSidecarRouteConfigs, gatewayServerPorts } from './build-routes.js';
import type { JsonObject } from './envoy-json.js';
import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions } from './generate-options.js';
import { gatewayRouteName, PASSTHROUGH_CLUSTER } from './naming.js';
import { buildForwardProxyRouteConfig } from './build-forward-proxy.js';
import { buildGatewayTlsResources } from './build-gateway-tls.js';
import { INBOUND_PASSTHROUGH_SOURCE, PORTS } from '@minimesh/mesh';
import { buildListenerTelemetry } from './build-telemetry.js';
import { buildInboundAuthz } from './authz/build-authz.js';
import { applyInboundMtls, inboundMtlsMode } from './inbound-peer-authn.js';
import { buildInboundJwtFilter, withJwtFilter } from './authz/build-jwt.js';
import { outboundTrafficMode, scopeForProxy } from '../model/sidecar-scope.js';
import { withOutboundTrafficPolicy } from './outbound-traffic-policy.js';
import { buildGatewayTcpListeners } from './gateway-tcp.js';
import { scopedOutDestinationClusters } from './scoped-destinations.js';
import { buildTlsOutboundListeners } from './build-tls-outbound.js';
import { sidecarIngressPlan } from './sidecar-ingress.js';
import { buildEgressBindListeners } from './sidecar-egress-bind.js';

export interface ProxyResources {
  readonly listeners: JsonObject[];
  readonly routes: JsonObject[];
  readonly clusters: JsonObject[];
  readonly endpoints: JsonObject[];
  /** Envoy `Secret`s (SDS) a gateway's TLS servers use (credentialName); absent: none. */
  readonly secrets?: JsonObject[];
  /** What could not be translated faithfully (unknown destinations, shadowed hosts, ...). */
  readonly warnings: string[];
}

const byName = (a: JsonObject, b: JsonObject): number => String(a.name).localeCompare(String(b.name));
const byClusterName = (a: JsonObject, b: JsonObject): number => String(a.cluster_name).localeCompare(String(b.cluster_name));

/**
 * The outbound side reads `model` narrowed to what the proxy sees (exportTo, its Sidecar:
 * model/sidecar-scope.ts); the inbound side reads the whole model (`full`).
 */
export function generateForProxy(full: MeshModel, proxy: ProxyIdentity, options: GenerateOptions = {}): ProxyResources {
  const opts = { ...DEFAULT_GENERATE_OPTIONS, ...options };
  const model = scopeForProxy(full, proxy);
  const mode = outboundTrafficMode(full, proxy);
  const warnings: string[] = [];
  const clusters = buildOutboundClusters(model, proxy, opts);
  const endpoints = buildEndpoints(model, proxy);
  let listeners: JsonObject[];
  let routes: JsonObject[];
  const client = buildListenerTelemetry(model, proxy, 'CLIENT', warnings);
  if (proxy.type === 'router') {
    routes = buildGatewayRouteConfigs(model, proxy, warnings);
    const address = opts.bindProxyAddress ? proxy.ip : '0.0.0.0';
    const jwt = buildInboundJwtFilter(model, proxy, warnings, opts.jwksUriOf);
    listeners = gatewayServerPorts(model, proxy).map((sp) => buildGatewayListener(sp, routes.find((r) => r.name === gatewayRouteName(sp.number)), client, address, jwt ? [jwt] : []));
    const tls = buildGatewayTlsResources(model, proxy, { tel: client, address, authn: jwt ? [jwt] : [] }, warnings);
    listeners.push(...tls.listeners, ...buildGatewayTcpListeners(model, proxy, client, address, warnings));
    routes.push(...tls.routes);
    const out = result(listeners, routes, clusters, endpoints, warnings, { full, scoped: model });
    return tls.secrets.length > 0 ? { ...out, secrets: tls.secrets.sort(byName) } : out;
  } else {
    const server = buildListenerTelemetry(model, proxy, 'SERVER', warnings);
    if (opts.captureMode) {
      // Passthrough happens at the connection level: no `allow_any` virtual host.
      routes = [withOutboundTrafficPolicy(buildForwardProxyRouteConfig(buildSidecarRouteConfigs(model, proxy, { ...opts, passthroughCluster: false }, warnings)), mode)];
      const authz = withJwtFilter(buildInboundAuthz(full, proxy, warnings), buildInboundJwtFilter(full, proxy, warnings));
      const tcpPorts = captureTcpPorts(model, warnings);
      listeners = [buildVirtualOutboundListener(routes[0], tcpPorts, client, captureTcpClusters(model, tcpPorts, proxy, warnings), mode === 'REGISTRY_ONLY'), buildVirtualInboundListener(full, proxy, { telemetry: server, authz, mtls: opts.mtls })];
      listeners.push(...buildTlsOutboundListeners(model, proxy, client, { capture: true, registryOnly: mode === 'REGISTRY_ONLY' }, warnings));
      buildEgressBindListeners(model, proxy, [], client, true, warnings); // its warnings: nothing to bind under capture
      if (!clusters.some((c) => c.name === PASSTHROUGH_CLUSTER)) clusters.push(buildPassthroughCluster());
      clusters.push(buildInboundPassthroughCluster());
      const ingress = sidecarIngressPlan(full, proxy, warnings);
      if (ingress !== undefined) for (const p of ingress) clusters.push(buildInboundCluster(p.port, p.appAddress, inboundServices(full, proxy, p.port), INBOUND_PASSTHROUGH_SOURCE, p.protocol, p.appPort));
      else for (const port of inboundPorts(full, proxy)) clusters.push(buildInboundCluster(port, proxy.ip, inboundServices(full, proxy, port), INBOUND_PASSTHROUGH_SOURCE, inboundPortProtocol(full, proxy, port)));
      return result(listeners, routes, clusters, endpoints, warnings, { full, scoped: model });
    }
    routes = buildSidecarRouteConfigs(model, proxy, opts, warnings);
    if (opts.outboundForwardProxy) {
      // The local mesh: one forward proxy on 15001, which also answers CONNECT (TCP ports, and
      // gRPC or HTTP/1.1 clients that tunnel through their HTTP proxy).
      // The Sidecar's egress listeners with bind / captureMode NONE: bound per port (sidecar-egress-bind.ts).
      const bound = buildEgressBindListeners(model, proxy, routes, client, false, warnings);
      routes = [buildForwardProxyRouteConfig(routes, buildConnectVirtualHosts(model, proxy, warnings)), ...bound.routes];
      listeners = [buildOutboundListener(proxy.ip, PORTS.outboundCapture, routes[0], client, true), ...buildTlsOutboundListeners(model, proxy, client, { capture: false, registryOnly: mode === 'REGISTRY_ONLY' }, warnings), ...bound.listeners];
    } else {
      listeners = routes.map((rc) => buildOutboundListener(opts.outboundAddress, Number(rc.name), rc, client));
    }
    // The listeners name their route configuration (RDS): block_all needs no filter of theirs.
    routes = routes.map((rc) => withOutboundTrafficPolicy(rc, mode));
    const authz = withJwtFilter(buildInboundAuthz(full, proxy, warnings), buildInboundJwtFilter(full, proxy, warnings, opts.jwksUriOf));
    // The Sidecar's `ingress` ports when it declares some, else the ports its services derive.
    const plan = sidecarIngressPlan(full, proxy, warnings) ?? inboundPorts(full, proxy).map((port) => ({ port, protocol: inboundPortProtocol(full, proxy, port), appAddress: opts.inboundAppAddress, appPort: port, bind: undefined }));
    for (const { port, protocol, appAddress, appPort, bind } of plan) {
      const tcp = protocol !== undefined && !isHttpProtocol(protocol) && protocol !== 'Unsupported';
      const inbound = tcp ? buildInboundTcpListener(bind ?? proxy.ip, port, server, authz) : buildInboundListener(bind ?? proxy.ip, port, server, authz);
      listeners.push(opts.mtls ? applyInboundMtls(inbound, inboundMtlsMode(full, proxy, port), !tcp) : inbound);
      clusters.push(buildInboundCluster(port, appAddress, inboundServices(full, proxy, port), undefined, protocol, appPort));
    }
  }
  return result(listeners, routes, clusters, endpoints, warnings, { full, scoped: model });
}

function result(listeners: JsonObject[], routes: JsonObject[], clusters: JsonObject[], endpoints: JsonObject[], warnings: string[], scope?: { full: MeshModel; scoped: MeshModel }): ProxyResources {
  if (scope !== undefined && scope.full !== scope.scoped) clusters.push(...scopedOutDestinationClusters(scope.full, scope.scoped, routes, clusters, warnings));
  return {
    listeners: listeners.sort(byName),
    routes: routes.sort(byName),
    clusters: clusters.sort(byName),
    endpoints: endpoints.sort(byClusterName),
    warnings: [...new Set(warnings)],
  };
}
