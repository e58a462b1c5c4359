/**
 * The filter chains of one inbound port by its PeerAuthentication mode, as Istio's inbound
 * listener builder makes them (`listener_inbound.go`, `filterchain_options.go`,
 * `authn/utils.BuildInboundTLS`). `filters` is the port's chain (an HCM, or istio.stats +
 * tcp_proxy); the TLS chains terminate the mesh's mTLS with the workload certificate (SDS
 * `default`) and require a client certificate that chains to `ROOTCA` (the server checks the
 * chain, not the peer's SAN: identity is left to authorization).
 *   STRICT      TLS chains only: a plain-text connection matches no chain and is closed;
 *   PERMISSIVE  the TLS chains, then a `raw_buffer` chain for plain text;
 *   DISABLE     the `raw_buffer` chain only.
 * HTTP ports match Istio's ALPNs (`istio-http/1.0`, `istio-http/1.1`, `istio-h2`, and for an
 * explicit HTTP port `istio` and `istio-peer-exchange` too) and serve `h2`/`http/1.1`; TCP ports
 * match `istio-peer-exchange` and `istio`, serve `istio-peer-exchange` first and run the TCP
 * metadata exchange filter ahead of their filters (only there: no other chain ever selects that
 * ALPN). The listener needs the `tls_inspector` listener filter.
 */
import type { EffectiveMtlsMode } from '../security/peer-authentication.js';
import type { JsonObject } from './envoy-json.js';
import { tcpMetadataExchangeFilter } from './tcp-metadata-exchange.js';

export const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
export const TLS_INSPECTOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const DOWNSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

const sds = (name: string): JsonObject => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });

/** Istio's inbound DownstreamTlsContext, serving `alpn`. */
export function inboundTlsContext(alpn: readonly string[]): JsonObject {
  return {
    '@type': DOWNSTREAM_TLS_CONTEXT,
    require_client_certificate: true,
    common_tls_context: {
      tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
      alpn_protocols: [...alpn],
      tls_certificate_sds_secret_configs: [sds('default')],
      combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sds('ROOTCA') },
    },
  };
}

export const MESH_HTTP_ALPNS = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] as const;
export const MESH_TCP_ALPNS = ['istio-peer-exchange', 'istio'] as const;

/**
 * The chains of an inbound port: `http` says whether `filters` is an HCM (else TCP filters).
 * `destinationPort`: the port the chains match on, for a listener that serves several ports
 * (virtualInbound under capture); absent for a listener of its own port.
 */
export function inboundMtlsChains(mode: EffectiveMtlsMode, http: boolean, filters: readonly JsonObject[], destinationPort?: number): JsonObject[] {
  const port = destinationPort === undefined ? {} : { destination_port: destinationPort };
  const plain: JsonObject = { filter_chain_match: { ...port, transport_protocol: 'raw_buffer' }, filters: [...filters] };
  if (mode === 'DISABLE') return [plain];
  const alpns = http ? [...MESH_HTTP_ALPNS, ...MESH_TCP_ALPNS] : [...MESH_TCP_ALPNS];
  const tls: JsonObject = {
    filter_chain_match: { ...port, transport_protocol: 'tls', application_protocols: alpns },
    filters: [...filters],
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: inboundTlsContext(http ? ['h2', 'http/1.1'] : ['istio-peer-exchange', 'h2', 'http/1.1']) },
  };
  // The TCP mTLS chain runs the metadata exchange first: the one chain whose TLS selects its ALPN.
  if (!http) tls.filters = [tcpMetadataExchangeFilter(), ...filters];
  return mode === 'STRICT' ? [tls] : [tls, plain];
}

/** The listener filter every inbound listener with TLS chains needs. */
export const tlsInspector = (): JsonObject => ({ name: TLS_INSPECTOR, typed_config: { '@type': TLS_INSPECTOR_TYPE } });
