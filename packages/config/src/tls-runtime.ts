/**
 * Runtime tables of TLS transport sockets (Envoy's `envoy.transport_sockets.tls`) and of
 * filter chain matching. Re-exported by runtime.ts.
 *
 * Certificates are not read here: a `DataSourceRt` names inline PEM or a file, and an SDS
 * secret config only its name (`default`, `ROOTCA`). The proxy resolves them when a
 * connection starts, so a rotated secret or a rewritten file takes effect for new connections.
 */
import type { StringMatcherRt } from './match-runtime.js';

/** A `DataSource`: inline PEM (`inline_string` / `inline_bytes`) or a file read at connection time. */
export type DataSourceRt = { readonly kind: 'inline'; readonly pem: string } | { readonly kind: 'file'; readonly path: string };

export interface TlsCertificateRt {
  readonly certificateChain: DataSourceRt;
  readonly privateKey: DataSourceRt;
}

/** `match_typed_subject_alt_names[]` (or an untyped `match_subject_alt_names[]`: any SAN type). */
export interface SanMatcherRt {
  readonly type: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'ANY';
  readonly matcher: StringMatcherRt;
}

/** `validation_context` / `combined_validation_context`: which roots, and which peer SANs are accepted. */
export interface CertificateValidationRt {
  /** `trusted_ca` of the static part. */
  readonly trustedCa?: DataSourceRt;
  /** `validation_context_sds_secret_config.name` (Istio's `ROOTCA`): its `trustedCa` is used. */
  readonly sdsSecret?: string;
  /** Empty: any SAN (the chain alone is checked, as on Istio's inbound side). */
  readonly sanMatchers: readonly SanMatcherRt[];
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface CommonTlsRt {
  /** `tls_certificates` (static). */
  readonly certificates: readonly TlsCertificateRt[];
  /** `tls_certificate_sds_secret_configs[].name` (Istio's `default`). */
  readonly certificateSds: readonly string[];
  readonly validation: CertificateValidationRt | undefined;
  /** `alpn_protocols`, in preference order. */
  readonly alpnProtocols: readonly string[];
  /** `tls_params` (Node's names); undefined = Node's default. */
  readonly minVersion: TlsVersion | undefined;
  readonly maxVersion: TlsVersion | undefined;
  /** `cipher_suites` joined with ':' (OpenSSL names), undefined = default. */
  readonly ciphers: string | undefined;
  /** `ecdh_curves` joined with ':', undefined = default. */
  readonly ecdhCurves: string | undefined;
}

/** A listener chain's `DownstreamTlsContext`. */
export interface DownstreamTlsRt {
  readonly common: CommonTlsRt;
  /** `require_client_certificate` (Istio's mTLS: true). */
  readonly requireClientCertificate: boolean;
}

/** A cluster's `UpstreamTlsContext`. */
export interface UpstreamTlsRt {
  readonly common: CommonTlsRt;
  /** `sni`; '' = none sent. */
  readonly sni: string;
}

/** `transport_socket_matches[]`: the first whose `match` the endpoint's socket-match metadata holds. */
export interface TransportSocketMatchRt {
  readonly name: string;
  readonly match: Readonly<Record<string, string>>;
  /** undefined = raw_buffer (plaintext). */
  readonly tls: UpstreamTlsRt | undefined;
}

/** A cluster's transport sockets. */
export interface ClusterTlsRt {
  /** `transport_socket`: used when no match applies (undefined = plaintext). */
  readonly transportSocket: UpstreamTlsRt | undefined;
  readonly matches: readonly TransportSocketMatchRt[];
}

/** `filter_chain_match`; empty fields match anything. */
export interface FilterChainMatchRt {
  readonly destinationPort: number | undefined;
  /** Lower case; `*.example.com` wildcards kept as written. */
  readonly serverNames: readonly string[];
  /** `tls`, `raw_buffer` or '' (any). */
  readonly transportProtocol: string;
  readonly applicationProtocols: readonly string[];
}

/** The listener filters that feed chain matching. */
export interface ListenerInspectorsRt {
  /** `tls_inspector` (also implied by a chain that matches `tls`, SNI or ALPN, as Envoy does). */
  readonly tls: boolean;
  /** `http_inspector`: plaintext HTTP/1.x sets ALPN `http/1.1` / `http/1.0`, the HTTP/2 preface `h2c`. */
  readonly http: boolean;
}
