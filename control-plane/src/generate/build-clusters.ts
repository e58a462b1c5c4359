/**
 * Clusters for a proxy (Istio's buildOutboundClusters / buildInboundClusters):
 *   outbound|PORT||HOST     per service port, EDS
 *   outbound|PORT|SUBSET|HOST per DestinationRule subset, EDS, the subset's policy merged in
 *   inbound|PORT||          per port of the proxy's own workload, STATIC to the app
 *   BlackHoleCluster        STATIC, no endpoints
 *   outbound|PORT||HOST     ORIGINAL_DST for a ServiceEntry with resolution NONE
 * PassthroughCluster (ORIGINAL_DST) is left out unless asked for (capture mode adds it).
 */
import { isHttp2Protocol, isHttpProtocol, type Protocol } from '@minimesh/kube';
import type { EndpointModel, MeshModel, ServiceModel } from '../model/mesh-model.js';
import { dnsLbEndpoint } from './dns-endpoints.js';
import { keepClusterProvided, originalDstCluster } from './original-dst-cluster.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { compact, type JsonObject } from './envoy-json.js';
import { BLACKHOLE_CLUSTER, clusterName, PASSTHROUGH_CLUSTER } from './naming.js';
import { applyTrafficPolicy, findDestinationRule, ISTIO_CONNECT_TIMEOUT, mergePolicy, policyForPort } from './translate-traffic-policy.js';
import type { GenerateOptions } from './generate-options.js';
import { clusterServiceMetadata } from './istio-metadata.js';
import { applyClusterMtls } from './cluster-mtls.js';
import { applyUpstreamProtocol, buildHttpProtocolOptions, HTTP_PROTOCOL_OPTIONS_KEY, type MeshH2UpgradePolicy } from './upstream-protocol.js';

const EDS_CONFIG = { ads: {}, resource_api_version: 'V3' };

function edsCluster(name: string): JsonObject {
  return { name, type: 'EDS', eds_cluster_config: { service_name: name, eds_config: EDS_CONFIG } };
}

/** A DNS ServiceEntry's cluster: STRICT_DNS (LOGICAL_DNS for DNS_ROUND_ROBIN: its one name) over the names to resolve. */
function dnsCluster(name: string, targets: readonly EndpointModel[], roundRobin: boolean): JsonObject {
  return {
    name,
    type: roundRobin ? 'LOGICAL_DNS' : 'STRICT_DNS',
    dns_lookup_family: 'V4_ONLY',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: (roundRobin ? targets.slice(0, 1) : targets).map(dnsLbEndpoint) }] },
  };
}

/** The outbound clusters of one service (one per port, one per port and subset). */
/**
 * `mtls`: the sidecars terminate mTLS inbound (the local mesh, and capture mode's
 * virtualInbound), so clusters get the DestinationRule's TLS or auto mTLS (cluster-mtls.ts).
 * Without it every cluster stays plain text.
 */
export function buildServiceClusters(model: MeshModel, svc: ServiceModel, proxy: ProxyIdentity, mesh: MeshH2UpgradePolicy = 'DO_NOT_UPGRADE', mtls = false): JsonObject[] {
  const out: JsonObject[] = [];
  const dr = findDestinationRule(model, svc, proxy.namespace);
  for (const sp of svc.ports) {
    const make = (subset: string | undefined): JsonObject => {
      const name = clusterName({ direction: 'outbound', port: sp.port, subset, host: svc.hostname });
      const c = svc.resolution === 'DNS' ? dnsCluster(name, svc.dnsTargets?.get(sp.port) ?? [], svc.dnsRoundRobin === true) : svc.resolution === 'NONE' ? originalDstCluster(name) : edsCluster(name);
      c.metadata = clusterServiceMetadata([svc], dr);
      return c;
    };
    const apply = (c: JsonObject, tp: ReturnType<typeof policyForPort>, subset?: string): void => {
      applyTrafficPolicy(c, tp);
      keepClusterProvided(c);
      applyUpstreamProtocol(c, { protocol: sp.protocol, sidecar: proxy.type === 'sidecar', mesh, http: tp.connectionPool?.http });
      // TLS the DestinationRule originates (SIMPLE, MUTUAL: egress to external servers) applies in any mesh.
      if (mtls || originatesTls(tp.tls)) applyClusterMtls(c, model, svc, sp.port, subset, tp.tls);
    };
    const base = policyForPort(dr?.spec?.trafficPolicy, sp.port);
    const c = make(undefined);
    apply(c, base);
    out.push(order(c));
    for (const subset of dr?.spec?.subsets ?? []) {
      const sc = make(subset.name);
      apply(sc, mergePolicy(base, policyForPort(subset.trafficPolicy, sp.port)), subset.name);
      out.push(order(sc));
    }
  }
  return out;
}

function originatesTls(tls: unknown): boolean {
  const mode = (tls as { mode?: string } | undefined)?.mode;
  return mode === 'SIMPLE' || mode === 'MUTUAL';
}

/** Fixed field order, so goldens read like Envoy's config dump. */
function order(c: JsonObject): JsonObject {
  const { name, type, eds_cluster_config, connect_timeout, lb_policy, dns_lookup_family, load_assignment, circuit_breakers, outlier_detection, typed_extension_protocol_options, ...rest } = c;
  return compact({ name, type, eds_cluster_config, connect_timeout, lb_policy, dns_lookup_family, load_assignment, circuit_breakers, outlier_detection, typed_extension_protocol_options, ...rest });
}

/**
 * `inbound|PORT||` to the app; `services` are the proxy's services served on that port (for
 * metrics). `bindAddress`: connect from there (under capture, Istio reaches the app on the pod's
 * own address from 127.0.0.6, which iptables never captures again).
 */
/** `appPort`: where the app listens (a Sidecar ingress `defaultEndpoint`), when not on `port`. */
export function buildInboundCluster(port: number, appAddress: string, services: readonly ServiceModel[] = [], bindAddress?: string, protocol?: Protocol, appPort = port): JsonObject {
  const name = clusterName({ direction: 'inbound', port });
  // HTTP/2 and gRPC ports speak HTTP/2 to the app; a sniffed port the client's protocol (Istio's inbound clusters).
  const po = protocol === undefined ? undefined : buildHttpProtocolOptions({ protocol, sidecar: true, mesh: 'DO_NOT_UPGRADE', http: undefined });
  const options = po !== undefined && (isHttp2Protocol(protocol!) || protocol === 'Unsupported') ? { [HTTP_PROTOCOL_OPTIONS_KEY]: po } : undefined;
  return compact({
    name,
    type: 'STATIC',
    connect_timeout: ISTIO_CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: appAddress, port_value: appPort } } } }] }] },
    upstream_bind_config: bindAddress !== undefined ? { source_address: { address: bindAddress, port_value: 0 } } : undefined,
    metadata: services.length > 0 ? clusterServiceMetadata(services) : undefined,
    typed_extension_protocol_options: options,
  });
}

export function buildBlackHoleCluster(): JsonObject {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: ISTIO_CONNECT_TIMEOUT, load_assignment: { cluster_name: BLACKHOLE_CLUSTER } };
}

export function buildPassthroughCluster(): JsonObject {
  return { name: PASSTHROUGH_CLUSTER, type: 'ORIGINAL_DST', connect_timeout: ISTIO_CONNECT_TIMEOUT, lb_policy: 'CLUSTER_PROVIDED' };
}

export function buildOutboundClusters(model: MeshModel, proxy: ProxyIdentity, opts: GenerateOptions): JsonObject[] {
  const out = model.services.flatMap((svc) => buildServiceClusters(model, svc, proxy, opts.meshH2UpgradePolicy, opts.mtls === true));
  out.push(buildBlackHoleCluster());
  if (opts.passthroughCluster) out.push(buildPassthroughCluster());
  return out;
}

/** Only HTTP ports get HTTP routes; other protocols are left to TCP proxying (not translated yet). */
export const httpPorts = (svc: ServiceModel) => svc.ports.filter((p) => isHttpProtocol(p.protocol) || p.protocol === 'Unsupported');
