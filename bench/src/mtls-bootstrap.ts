// The YAML a hop of "2 proxies, mTLS" adds to the bench's bootstrap, shaped as the mesh's
// control plane configures two sidecars (certificates from files instead of SDS):
// - the client sidecar's cluster to the server sidecar: an UpstreamTlsContext with the SNI
//   `outbound_.<port>_._.<host>`, ALPN `istio-peer-exchange, istio` (+ `h2` on an HTTP/2
//   cluster), the client's workload certificate, the root, and a SAN matcher on the server's
//   SPIFFE id;
// - the server sidecar's listener: tls_inspector, and one filter chain matching TLS with the
//   mesh's ALPN words, terminating it with a DownstreamTlsContext that requires a client
//   certificate chaining to the root (ALPN `h2, http/1.1`; the chain is checked, not the SAN).
import { BENCH_NAMESPACE, type MeshCertFiles } from './mesh-certs.js';

/** Which end of the mTLS link a hop is, and the files it uses. */
export interface HopMtls {
  role: 'client' | 'server';
  certs: MeshCertFiles;
}

/** The service the client sidecar calls: the server workload's host name. */
export const SERVER_HOST = `server.${BENCH_NAMESPACE}.svc.cluster.local`;

/** The mesh SNI of the server for a port (no subset). */
export function meshSni(port: number): string {
  return `outbound_.${port}_._.${SERVER_HOST}`;
}

/** The ALPN the client cluster offers: the mesh's own words, `h2` too when it speaks HTTP/2. */
export function clientAlpn(http2: boolean): string[] {
  return http2 ? ['istio-peer-exchange', 'istio', 'h2'] : ['istio-peer-exchange', 'istio'];
}

/** The ALPN words the server's mTLS chain matches (the mesh's set for an HTTP port). */
export const SERVER_CHAIN_ALPN = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

/** The ALPN the server answers with (the mesh's inbound HTTP chains). */
export const SERVER_ALPN = ['h2', 'http/1.1'];

const TLS_PARAMS = (pad: string): string => `${pad}tls_params:
${pad}  tls_minimum_protocol_version: TLSv1_2
${pad}  tls_maximum_protocol_version: TLSv1_3
`;

const flow = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

/** `transport_socket` of the client's cluster (at the cluster's key indentation, 6 spaces). */
export function upstreamTlsYaml(m: HopMtls, serverPort: number, http2: boolean): string {
  const c = m.certs;
  return `      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: ${meshSni(serverPort)}
          common_tls_context:
${TLS_PARAMS('            ')}            alpn_protocols: ${flow(clientAlpn(http2))}
            tls_certificates:
              - certificate_chain: { filename: ${JSON.stringify(c.client.certChain)} }
                private_key: { filename: ${JSON.stringify(c.client.key)} }
            validation_context:
              trusted_ca: { filename: ${JSON.stringify(c.root)} }
              match_typed_subject_alt_names:
                - san_type: URI
                  matcher: { exact: ${JSON.stringify(c.server.spiffe)} }
`;
}

/** `listener_filters` of the server's listener (at the listener's key indentation, 6 spaces). */
export const LISTENER_FILTERS_YAML = `      listener_filters:
        - name: envoy.filters.listener.tls_inspector
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
`;

/**
 * The server chain's `filter_chain_match` and `transport_socket`, written after `- ` of the
 * chain item (the first line has no indentation; the others are at the chain's 10 spaces);
 * `filters:` follows.
 */
export function downstreamTlsChainYaml(m: HopMtls): string {
  const c = m.certs;
  return `filter_chain_match:
            transport_protocol: tls
            application_protocols: ${flow(SERVER_CHAIN_ALPN)}
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              require_client_certificate: true
              common_tls_context:
${TLS_PARAMS('                ')}                alpn_protocols: ${flow(SERVER_ALPN)}
                tls_certificates:
                  - certificate_chain: { filename: ${JSON.stringify(c.server.certChain)} }
                    private_key: { filename: ${JSON.stringify(c.server.key)} }
                validation_context:
                  trusted_ca: { filename: ${JSON.stringify(c.root)} }
          `;
}
