/**
 * `virtualInbound` (0.0.0.0:15006, `use_original_dst`, INBOUND) as Istio's inbound listener
 * builder makes it for a sidecar under capture (`listener_inbound.go`, `filterchain_options.go`):
 * filter chains picked by the connection's original destination port, then by the TLS
 * inspector's transport protocol and ALPN, and for a service port with no protocol (unnamed),
 * the http_inspector's (Istio's auto ports: HTTP/1.x and h2c to the HCM, anything else TCP).
 *   - each port a service names on the workload: the port's chains by its PeerAuthentication
 *     mode (build-inbound-mtls.ts: STRICT only TLS, PERMISSIVE TLS and `raw_buffer`, DISABLE
 *     `raw_buffer`), with the same filters as an inbound listener of its own port (the HCM with
 *     jwt_authn and RBAC routing to `inbound|PORT||`, or network RBAC, istio.stats and tcp_proxy);
 *   - every other port (no `destination_port`): the workload's mode, TCP to where the client
 *     was going (`InboundPassthroughCluster`, ORIGINAL_DST from 127.0.0.6), with the network RBAC;
 *   - port 15006 itself (someone dialled the listener, nothing was redirected): BlackHoleCluster.
 * PERMISSIVE TCP chains also take TLS the mesh did not originate (any other ALPN) without
 * terminating it: the app's own TLS passes through. Without mesh certificates (`mtls` off) each
 * port has one chain matched on its port alone.
 */
import { INBOUND_PASSTHROUGH_SOURCE, PORTS } from '@minimesh/mesh';
import { isHttpProtocol } from '@minimesh/kube';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import type { EffectiveMtlsMode } from '../security/peer-authentication.js';
import type { InboundAuthz } from './authz/build-authz.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { buildInboundListener, inboundPortProtocol, inboundPorts, inboundServices } from './build-listeners.js';
import { sidecarIngressPlan } from './sidecar-ingress.js';
import { buildInboundTcpListener } from './build-tcp.js';
import { inboundMtlsChains, MESH_HTTP_ALPNS, tlsInspector } from './build-inbound-mtls.js';
import { inboundMtlsMode, withClientCertDetails } from './inbound-peer-authn.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { BLACKHOLE_CLUSTER } from './naming.js';

export const VIRTUAL_INBOUND = 'virtualInbound';
const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';
const HTTP_INSPECTOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';
/** Envoy's http_inspector (the proxy runs it only for ports whose chains match on what it says). */
const httpInspector = (): JsonObject => ({ name: HTTP_INSPECTOR, typed_config: { '@type': HTTP_INSPECTOR_TYPE } });
/** Istio's ORIGINAL_DST cluster for inbound connections to ports no service names. */
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';

export interface VirtualInboundInput {
  readonly telemetry: ListenerTelemetry;
  readonly authz: InboundAuthz;
  /** The sidecars take mTLS (the control plane issues their certificates). */
  readonly mtls: boolean;
}

export type InboundPortKind = 'http' | 'tcp' | 'auto';

/** The ports of the workload a service names, each HTTP, TCP or sniffed (`auto`: unnamed). */
export function captureInboundPorts(model: MeshModel, proxy: ProxyIdentity): { port: number; kind: InboundPortKind }[] {
  // A Sidecar's `ingress` ports replace the derived ones (sidecar-ingress.ts; its warnings come with the clusters).
  const ingress = sidecarIngressPlan(model, proxy, []);
  if (ingress !== undefined) return ingress.map(({ port, protocol }) => ({ port, kind: protocol === undefined ? 'auto' : isHttpProtocol(protocol) ? 'http' : 'tcp' }));
  return inboundPorts(model, proxy)
    .filter((port) => inboundServices(model, proxy, port).length > 0)
    .map((port) => {
      const protocol = inboundPortProtocol(model, proxy, port);
      return { port, kind: protocol === undefined || protocol === 'Unsupported' ? 'auto' : isHttpProtocol(protocol) ? 'http' : 'tcp' };
    });
}

/** What the http_inspector says of plain-text HTTP (`http/1.0` only with Istio's HTTP10). */
export const SNIFFED_HTTP_ALPNS = ['http/1.1', 'h2c'] as const;

/**
 * An auto port's chains (Istio's order): mesh TLS with an HTTP ALPN and plain HTTP to the HCM;
 * mesh TLS with a TCP ALPN and other plain text to TCP; PERMISSIVE also passes other TLS.
 */
export function autoPortChains(mode: EffectiveMtlsMode | undefined, hcm: readonly JsonObject[], tcp: readonly JsonObject[], port: number): JsonObject[] {
  const plainHttp: JsonObject = { filter_chain_match: { destination_port: port, transport_protocol: 'raw_buffer', application_protocols: [...SNIFFED_HTTP_ALPNS] }, filters: [...hcm] };
  const plainTcp: JsonObject = { filter_chain_match: { destination_port: port, transport_protocol: 'raw_buffer' }, filters: [...tcp] };
  if (mode === undefined || mode === 'DISABLE') return [plainHttp, plainTcp];
  const withAlpns = (chain: JsonObject, alpns: readonly string[]): JsonObject => ({ ...chain, filter_chain_match: { ...(chain.filter_chain_match as JsonObject), application_protocols: [...alpns] } });
  // The mode's TLS chains for HTTP and for TCP; HTTP keeps only Istio's HTTP ALPNs here.
  const [httpTls] = inboundMtlsChains('STRICT', true, hcm.map(withClientCertDetails), port);
  const [tcpTls] = inboundMtlsChains('STRICT', false, tcp, port);
  const tls = [withAlpns(httpTls, MESH_HTTP_ALPNS), tcpTls];
  return mode === 'STRICT' ? tls : [tls[0], plainHttp, tls[1], plainTcp, tlsPassthrough(tcp, port)];
}

/** The only chain of a listener built for one port. */
const chainFilters = (listener: JsonObject): JsonObject[] => ((listener.filter_chains as JsonObject[])[0].filters as JsonObject[]).map((f) => f);

/** TLS the mesh did not originate, not terminated (PERMISSIVE TCP chains). */
const tlsPassthrough = (filters: readonly JsonObject[], port?: number): JsonObject => ({
  filter_chain_match: { ...(port === undefined ? {} : { destination_port: port }), transport_protocol: 'tls' },
  filters: [...filters],
});

/** The chains of one port (or, `port` undefined, of every port no service names). */
export function captureInboundChains(mode: EffectiveMtlsMode | undefined, http: boolean, filters: readonly JsonObject[], port?: number): JsonObject[] {
  if (mode === undefined) return [{ ...(port === undefined ? {} : { filter_chain_match: { destination_port: port } }), filters: [...filters] }];
  const chains = inboundMtlsChains(mode, http, http ? filters.map(withClientCertDetails) : filters, port);
  if (mode === 'PERMISSIVE' && !http) chains.splice(1, 0, tlsPassthrough(filters, port));
  return chains;
}

/** The TCP filters of the passthrough chains: an inbound TCP listener's, towards InboundPassthroughCluster. */
function passthroughFilters(tel: ListenerTelemetry, authz: InboundAuthz): JsonObject[] {
  return chainFilters(buildInboundTcpListener('0.0.0.0', PORTS.inboundCapture, tel, authz)).map((f) =>
    f.name === TCP_PROXY_FILTER ? { ...f, typed_config: { ...(f.typed_config as JsonObject), stat_prefix: INBOUND_PASSTHROUGH_CLUSTER, cluster: INBOUND_PASSTHROUGH_CLUSTER } } : f,
  );
}

export function buildVirtualInboundListener(model: MeshModel, proxy: ProxyIdentity, input: VirtualInboundInput): JsonObject {
  const { telemetry, authz, mtls } = input;
  const chains: JsonObject[] = [
    {
      name: `${VIRTUAL_INBOUND}-blackhole`,
      filter_chain_match: { destination_port: PORTS.inboundCapture },
      filters: [{ name: TCP_PROXY_FILTER, typed_config: { '@type': TYPE.TcpProxy, stat_prefix: BLACKHOLE_CLUSTER, cluster: BLACKHOLE_CLUSTER } }],
    },
  ];
  const ports = captureInboundPorts(model, proxy);
  for (const { port, kind } of ports) {
    const mode = mtls ? inboundMtlsMode(model, proxy, port) : undefined;
    const hcm = (): JsonObject[] => chainFilters(buildInboundListener('0.0.0.0', port, telemetry, authz));
    const tcp = (): JsonObject[] => chainFilters(buildInboundTcpListener('0.0.0.0', port, telemetry, authz));
    chains.push(...(kind === 'auto' ? autoPortChains(mode, hcm(), tcp(), port) : captureInboundChains(mode, kind === 'http', kind === 'http' ? hcm() : tcp(), port)));
  }
  const sniffed = ports.some((p) => p.kind === 'auto');
  // The workload's mode (port-level modes name ports, and these are all the others).
  chains.push(...captureInboundChains(mtls ? inboundMtlsMode(model, proxy, 0) : undefined, false, passthroughFilters(telemetry, authz)));
  return {
    name: VIRTUAL_INBOUND,
    address: { socket_address: { address: '0.0.0.0', port_value: PORTS.inboundCapture } },
    use_original_dst: true,
    traffic_direction: 'INBOUND',
    // `use_original_dst` stands for Istio's original_dst listener filter (the proxy reads SO_ORIGINAL_DST first).
    ...(mtls || sniffed ? { listener_filters: [...(mtls ? [tlsInspector()] : []), ...(sniffed ? [httpInspector()] : [])] } : {}),
    filter_chains: chains,
  };
}

/** `InboundPassthroughCluster`: each connection to its original destination, from 127.0.0.6. */
export function buildInboundPassthroughCluster(): JsonObject {
  return {
    name: INBOUND_PASSTHROUGH_CLUSTER,
    type: 'ORIGINAL_DST',
    connect_timeout: '10s',
    lb_policy: 'CLUSTER_PROVIDED',
    upstream_bind_config: { source_address: { address: INBOUND_PASSTHROUGH_SOURCE, port_value: 0 } },
  };
}
