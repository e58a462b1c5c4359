/**
 * A cluster's TLS towards its endpoints, as Istio's cluster builder writes it
 * (`buildUpstreamClusterTLSContext`, `cluster_tls.go`), from a DestinationRule's
 * `trafficPolicy.tls` (ClientTLSSettings) or from auto mTLS:
 *   ISTIO_MUTUAL  the mesh's certificate and roots over SDS (`default`, `ROOTCA`), SNI
 *                 `outbound_.PORT_.SUBSET_.HOST` (or the DR's `sni`), the service's SPIFFE
 *                 identities as the accepted SANs (or the DR's `subjectAltNames`), ALPN
 *                 `istio-peer-exchange, istio` (`h2` added for an HTTP/2 cluster);
 *   SIMPLE        TLS originated to a server outside the mesh: its roots from `caCertificates`
 *                 (or `credentialName`'s secret over SDS), `sni`, `subjectAltNames`,
 *                 `insecureSkipVerify`;
 *   MUTUAL        SIMPLE plus the client certificate (`clientCertificate`/`privateKey`, or
 *                 `credentialName`);
 *   DISABLE       none.
 * Auto mTLS (no TLS in the DR) uses `transport_socket_matches`: endpoints labelled
 * `tlsMode: istio` get ISTIO_MUTUAL, the others plain text.
 */
import type { JsonObject } from './envoy-json.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const RAW_BUFFER = 'envoy.transport_sockets.raw_buffer';
export const RAW_BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
/** The endpoint metadata key Envoy matches transport sockets on. */
export const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

/** DestinationRule `trafficPolicy.tls` (ClientTLSSettings), as written. */
export interface ClientTlsSettings {
  readonly mode?: string;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly sni?: string;
  readonly insecureSkipVerify?: boolean;
}

export interface UpstreamTlsInput {
  readonly port: number;
  readonly subset?: string;
  /** The service's FQDN. */
  readonly host: string;
  /** SPIFFE identities of the service's workloads (`spiffe://td/ns/NS/sa/SA`). */
  readonly serviceIdentities: readonly string[];
  /** The cluster speaks HTTP/2 upstream. */
  readonly http2: boolean;
}

/** Istio's SNI for a mesh cluster (`BuildDNSSrvSubsetKey`). */
export function istioSni(port: number, subset: string | undefined, host: string): string {
  return `outbound_.${port}_.${subset ?? ''}_.${host}`;
}

const sds = (name: string): JsonObject => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });
const TLS_PARAMS = { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' };
const sanMatchers = (sans: readonly string[]): JsonObject[] => sans.map((s) => ({ san_type: 'URI', matcher: { exact: s } }));

/** The UpstreamTlsContext of an ISTIO_MUTUAL (or auto mTLS) cluster. */
export function istioMutualTlsContext(i: UpstreamTlsInput, dr?: ClientTlsSettings): JsonObject {
  const sans = dr?.subjectAltNames?.length ? dr.subjectAltNames : i.serviceIdentities;
  return {
    '@type': UPSTREAM_TLS_CONTEXT,
    sni: dr?.sni || istioSni(i.port, i.subset, i.host),
    common_tls_context: {
      tls_params: TLS_PARAMS,
      alpn_protocols: i.http2 ? ['istio-peer-exchange', 'istio', 'h2'] : ['istio-peer-exchange', 'istio'],
      tls_certificate_sds_secret_configs: [sds('default')],
      combined_validation_context: {
        default_validation_context: sans.length > 0 ? { match_typed_subject_alt_names: sanMatchers(sans) } : {},
        validation_context_sds_secret_config: sds('ROOTCA'),
      },
    },
  };
}

/**
 * Where Istio's proxies find the system's roots: a SIMPLE/MUTUAL rule without `caCertificates`
 * verifies the server against them (Istio's VERIFY_CERTIFICATE_AT_CLIENT), unless `insecureSkipVerify`.
 */
export const SYSTEM_ROOTS = '/etc/ssl/certs/ca-certificates.crt';

/**
 * The UpstreamTlsContext of a SIMPLE or MUTUAL DestinationRule (files, or `credentialName` over
 * SDS). Without `sni`, the server's host name goes as SNI (Istio's auto SNI gives the same for a
 * request to that host).
 */
export function originatedTlsContext(dr: ClientTlsSettings, mutual: boolean, host?: string): JsonObject {
  const common: JsonObject = { tls_params: TLS_PARAMS };
  if (dr.credentialName) {
    if (mutual) common.tls_certificate_sds_secret_configs = [sds(dr.credentialName)];
    common.combined_validation_context = {
      default_validation_context: dr.subjectAltNames?.length ? { match_typed_subject_alt_names: sanMatchers(dr.subjectAltNames) } : {},
      validation_context_sds_secret_config: sds(`${dr.credentialName}-cacert`),
    };
  } else {
    if (mutual && dr.clientCertificate && dr.privateKey) common.tls_certificates = [{ certificate_chain: { filename: dr.clientCertificate }, private_key: { filename: dr.privateKey } }];
    if (!dr.insecureSkipVerify) {
      common.validation_context = {
        trusted_ca: { filename: dr.caCertificates || SYSTEM_ROOTS },
        ...(dr.subjectAltNames?.length ? { match_typed_subject_alt_names: dr.subjectAltNames.map((s) => ({ san_type: 'DNS', matcher: { exact: s } })) } : {}),
      };
    }
  }
  const sni = dr.sni || (host !== undefined && !host.startsWith('*') ? host : undefined);
  return { '@type': UPSTREAM_TLS_CONTEXT, ...(sni ? { sni } : {}), common_tls_context: common };
}

/** Problems of a DestinationRule's `tls`, as the validator reports them (path relative to `tls`). */
export function clientTlsProblems(dr: ClientTlsSettings): string[] {
  const out: string[] = [];
  const mode = (dr.mode ?? 'DISABLE').toUpperCase();
  if (!['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'].includes(mode)) out.push(`mode: unknown mode ${JSON.stringify(dr.mode)} (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL)`);
  if (mode === 'MUTUAL' && !dr.credentialName && (!dr.clientCertificate || !dr.privateKey)) out.push('MUTUAL needs clientCertificate and privateKey, or credentialName');
  if (mode === 'ISTIO_MUTUAL' && (dr.clientCertificate || dr.privateKey || dr.caCertificates || dr.credentialName)) out.push('ISTIO_MUTUAL uses the mesh certificates: clientCertificate, privateKey, caCertificates and credentialName must be empty');
  return out;
}

/**
 * The cluster fields for its TLS: `transport_socket` for an explicit mode, or auto mTLS's
 * `transport_socket_matches` (`tlsMode-istio` then `tlsMode-disabled`) when the DR says nothing
 * and `autoMtls` applies. Empty when the cluster stays plain text.
 */
export function clusterTlsFields(i: UpstreamTlsInput, dr: ClientTlsSettings | undefined, autoMtls: boolean): JsonObject {
  const mode = (dr?.mode ?? '').toUpperCase();
  const socket = (ctx: JsonObject): JsonObject => ({ name: TLS_TRANSPORT_SOCKET, typed_config: ctx });
  if (mode === 'ISTIO_MUTUAL') return { transport_socket: socket(istioMutualTlsContext(i, dr)) };
  if (mode === 'SIMPLE' || mode === 'MUTUAL') return { transport_socket: socket(originatedTlsContext(dr!, mode === 'MUTUAL', i.host)) };
  if (mode === 'DISABLE' || !autoMtls) return {};
  return {
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: socket(istioMutualTlsContext(i)) },
      { name: 'tlsMode-disabled', match: {}, transport_socket: { name: RAW_BUFFER, typed_config: { '@type': RAW_BUFFER_TYPE } } },
    ],
  };
}
