/**
 * A Gateway HTTPS server's `tls` -> the DownstreamTlsContext of its filter chain, as Istio's
 * gateway builder writes it:
 *   SIMPLE        the server certificate: SDS `kubernetes://NAME` (credentialName), or the files
 *                 `serverCertificate`/`privateKey`;
 *   MUTUAL        that, plus the client CA: SDS `kubernetes://NAME-cacert`, or the file
 *                 `caCertificates`; a client certificate is required, `subjectAltNames` checked;
 *   ISTIO_MUTUAL  the gateway's own workload certificate (`default`) and the mesh roots (`ROOTCA`),
 *                 a client certificate required.
 * ALPN h2, http/1.1; TLS 1.2 at least unless `minProtocolVersion` says otherwise.
 */
import type { ServerTlsSettings, TlsProtocolVersion } from '@minimesh/kube';
import type { JsonObject } from './envoy-json.js';
import { DOWNSTREAM_TLS_CONTEXT } from './build-inbound-mtls.js';
import { credentialCaResourceName, credentialResourceName } from './gateway-credentials.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const GATEWAY_HTTPS_ALPN = ['h2', 'http/1.1'];

const sds = (name: string): JsonObject => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });

const ENVOY_VERSION: Readonly<Record<TlsProtocolVersion, string>> = { TLS_AUTO: 'TLS_AUTO', TLSV1_0: 'TLSv1_0', TLSV1_1: 'TLSv1_1', TLSV1_2: 'TLSv1_2', TLSV1_3: 'TLSv1_3' };

function tlsParams(tls: ServerTlsSettings): JsonObject {
  const min = tls.minProtocolVersion !== undefined && tls.minProtocolVersion !== 'TLS_AUTO' ? ENVOY_VERSION[tls.minProtocolVersion] : 'TLSv1_2';
  const out: JsonObject = { tls_minimum_protocol_version: min };
  if (tls.maxProtocolVersion !== undefined && tls.maxProtocolVersion !== 'TLS_AUTO') out.tls_maximum_protocol_version = ENVOY_VERSION[tls.maxProtocolVersion];
  if (tls.cipherSuites !== undefined && tls.cipherSuites.length > 0) out.cipher_suites = [...tls.cipherSuites];
  return out;
}

/** The `transport_socket` of an HTTPS server's chain (SIMPLE, MUTUAL or ISTIO_MUTUAL). */
export function gatewayServerTransportSocket(tls: ServerTlsSettings): JsonObject {
  const mode = tls.mode ?? 'SIMPLE';
  const sans = (tls.subjectAltNames ?? []).map((s) => ({ exact: s }));
  const common: JsonObject = { tls_params: tlsParams(tls), alpn_protocols: [...GATEWAY_HTTPS_ALPN] };
  let requireClient = false;
  if (mode === 'ISTIO_MUTUAL') {
    common.tls_certificate_sds_secret_configs = [sds('default')];
    common.combined_validation_context = { default_validation_context: sans.length > 0 ? { match_subject_alt_names: sans } : {}, validation_context_sds_secret_config: sds('ROOTCA') };
    requireClient = true;
  } else if (tls.credentialName !== undefined) {
    common.tls_certificate_sds_secret_configs = [sds(credentialResourceName(tls.credentialName))];
    if (mode === 'MUTUAL') {
      common.combined_validation_context = {
        default_validation_context: sans.length > 0 ? { match_subject_alt_names: sans } : {},
        validation_context_sds_secret_config: sds(credentialCaResourceName(tls.credentialName)),
      };
      requireClient = true;
    }
  } else {
    common.tls_certificates = [{ certificate_chain: { filename: tls.serverCertificate ?? '' }, private_key: { filename: tls.privateKey ?? '' } }];
    if (mode === 'MUTUAL') {
      common.validation_context = { trusted_ca: { filename: tls.caCertificates ?? '' }, ...(sans.length > 0 ? { match_subject_alt_names: sans } : {}) };
      requireClient = true;
    }
  }
  return { name: TLS_TRANSPORT_SOCKET, typed_config: { '@type': DOWNSTREAM_TLS_CONTEXT, common_tls_context: common, require_client_certificate: requireClient } };
}
