/**
 * `transport_socket` (envoy.transport_sockets.tls / raw_buffer) -> DownstreamTlsRt / UpstreamTlsRt.
 * SDS secret configs keep their name only: the proxy resolves `default` / `ROOTCA` from its
 * secret store, whoever fills it (the SDS source is not contacted by the config code).
 */
import { TYPE_URL, unpackAny, type CertificateValidationContext, type CommonTlsContext, type DataSource, type DownstreamTlsContext, type SdsSecretConfig, type TransportSocket, type UpstreamTlsContext } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { compileStringMatcher } from './string-matcher.js';
import type { CertificateValidationRt, CommonTlsRt, DataSourceRt, DownstreamTlsRt, SanMatcherRt, TlsCertificateRt, TlsVersion, UpstreamTlsRt } from './tls-runtime.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const RAW_BUFFER_TRANSPORT_SOCKET = 'envoy.transport_sockets.raw_buffer';

/** What a `transport_socket` holds: TLS of the given kind, or plaintext (`raw_buffer`, or none). */
function unpackTransportSocket<T>(ts: TransportSocket | null | undefined, path: string, errors: Errors, url: string): T | undefined {
  if (!ts) return undefined;
  allowOnly(ts, path, ['name', 'typed_config'], errors, ['config_type']);
  const got = ts.typed_config?.type_url;
  if (got === TYPE_URL.RawBuffer || (got === undefined && ts.name === RAW_BUFFER_TRANSPORT_SOCKET)) return undefined;
  if (got !== url) {
    errors.add(join(path, 'typed_config'), `only ${TLS_TRANSPORT_SOCKET} (${url}) and ${RAW_BUFFER_TRANSPORT_SOCKET} are supported by minimesh (got ${got ?? 'no typed_config'})`);
    return undefined;
  }
  return unpackAny<T>(ts.typed_config!);
}

/** A listener chain's transport socket: DownstreamTlsContext, or undefined for plaintext. */
export function compileDownstreamTransportSocket(ts: TransportSocket | null | undefined, path: string, errors: Errors): DownstreamTlsRt | undefined {
  const d = unpackTransportSocket<DownstreamTlsContext>(ts, path, errors, TYPE_URL.DownstreamTlsContext);
  if (d === undefined) return undefined;
  const p = join(path, 'typed_config');
  allowOnly(d, p, ['common_tls_context', 'require_client_certificate'], errors, ['session_ticket_keys_type'], { require_sni: 'require_sni is not supported by minimesh yet' });
  const common = compileCommonTls(d.common_tls_context, join(p, 'common_tls_context'), errors);
  if (common.certificates.length === 0 && common.certificateSds.length === 0) errors.add(join(p, 'common_tls_context'), 'a server needs a certificate (tls_certificates or tls_certificate_sds_secret_configs)');
  const require = d.require_client_certificate?.value === true;
  if (require && common.validation === undefined) errors.add(join(p, 'require_client_certificate'), 'needs a validation context (the roots client certificates must chain to)');
  return { common, requireClientCertificate: require };
}

/** A cluster's (or a transport socket match's) transport socket: UpstreamTlsContext, or undefined for plaintext. */
export function compileUpstreamTransportSocket(ts: TransportSocket | null | undefined, path: string, errors: Errors): UpstreamTlsRt | undefined {
  const u = unpackTransportSocket<UpstreamTlsContext>(ts, path, errors, TYPE_URL.UpstreamTlsContext);
  if (u === undefined) return undefined;
  const p = join(path, 'typed_config');
  allowOnly(u, p, ['common_tls_context', 'sni'], errors);
  return { common: compileCommonTls(u.common_tls_context, join(p, 'common_tls_context'), errors), sni: u.sni ?? '' };
}

const VERSIONS: Readonly<Record<string, TlsVersion | undefined>> = { TLS_AUTO: undefined, TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' };

export function compileCommonTls(c: CommonTlsContext | null | undefined, path: string, errors: Errors): CommonTlsRt {
  allowOnly(c, path, ['tls_params', 'tls_certificates', 'tls_certificate_sds_secret_configs', 'validation_context', 'validation_context_sds_secret_config', 'combined_validation_context', 'alpn_protocols'], errors, ['validation_context_type']);
  const certificates: TlsCertificateRt[] = [];
  (c?.tls_certificates ?? []).forEach((t, i) => {
    const tp = `${join(path, 'tls_certificates')}[${i}]`;
    allowOnly(t, tp, ['certificate_chain', 'private_key'], errors);
    const chain = compileDataSource(t.certificate_chain, join(tp, 'certificate_chain'), errors);
    const key = compileDataSource(t.private_key, join(tp, 'private_key'), errors);
    if (chain && key) certificates.push({ certificateChain: chain, privateKey: key });
  });
  const certificateSds = (c?.tls_certificate_sds_secret_configs ?? []).map((s, i) => sdsName(s, `${join(path, 'tls_certificate_sds_secret_configs')}[${i}]`, errors));
  if (certificates.length + certificateSds.length > 1) errors.add(path, 'minimesh serves one certificate per context (got several)');
  let validation: CertificateValidationRt | undefined;
  if (c?.validation_context) validation = compileValidation(c.validation_context, undefined, join(path, 'validation_context'), errors);
  else if (c?.validation_context_sds_secret_config) validation = { sdsSecret: sdsName(c.validation_context_sds_secret_config, join(path, 'validation_context_sds_secret_config'), errors), sanMatchers: [] };
  else if (c?.combined_validation_context) {
    const cp = join(path, 'combined_validation_context');
    const cv = c.combined_validation_context;
    allowOnly(cv, cp, ['default_validation_context', 'validation_context_sds_secret_config'], errors);
    if (!cv.validation_context_sds_secret_config) errors.add(join(cp, 'validation_context_sds_secret_config'), 'is required');
    const sds = cv.validation_context_sds_secret_config ? sdsName(cv.validation_context_sds_secret_config, join(cp, 'validation_context_sds_secret_config'), errors) : undefined;
    validation = compileValidation(cv.default_validation_context, sds, join(cp, 'default_validation_context'), errors);
  }
  const tp = c?.tls_params;
  const pp = join(path, 'tls_params');
  allowOnly(tp, pp, ['tls_minimum_protocol_version', 'tls_maximum_protocol_version', 'cipher_suites', 'ecdh_curves'], errors);
  const version = (v: string | undefined, field: string): TlsVersion | undefined => {
    if (v === undefined) return undefined;
    if (!(v in VERSIONS)) errors.add(join(pp, field), `unknown TLS version ${v}`);
    return VERSIONS[v];
  };
  const alpn = c?.alpn_protocols ?? [];
  alpn.forEach((a, i) => {
    if (a === '' || a.length > 255) errors.add(`${join(path, 'alpn_protocols')}[${i}]`, 'must be 1 to 255 bytes');
  });
  return {
    certificates,
    certificateSds,
    validation,
    alpnProtocols: alpn,
    minVersion: version(tp?.tls_minimum_protocol_version, 'tls_minimum_protocol_version'),
    maxVersion: version(tp?.tls_maximum_protocol_version, 'tls_maximum_protocol_version'),
    ciphers: tp?.cipher_suites?.length ? tp.cipher_suites.map((s) => s.replace(/^\[|\]$/g, '')).join(':').replace(/\|/g, ':') : undefined,
    ecdhCurves: tp?.ecdh_curves?.length ? tp.ecdh_curves.join(':') : undefined,
  };
}

function compileValidation(v: CertificateValidationContext | null | undefined, sds: string | undefined, path: string, errors: Errors): CertificateValidationRt {
  allowOnly(v, path, ['trusted_ca', 'match_subject_alt_names', 'match_typed_subject_alt_names'], errors, [], {
    crl: 'CRLs are not supported by minimesh yet',
    verify_certificate_hash: 'verify_certificate_hash is not supported by minimesh',
    verify_certificate_spki: 'verify_certificate_spki is not supported by minimesh',
  });
  const sanMatchers: SanMatcherRt[] = [];
  (v?.match_typed_subject_alt_names ?? []).forEach((m, i) => {
    const mp = `${join(path, 'match_typed_subject_alt_names')}[${i}]`;
    allowOnly(m, mp, ['san_type', 'matcher'], errors);
    const type = m.san_type ?? 'SAN_TYPE_UNSPECIFIED';
    if (type === 'SAN_TYPE_UNSPECIFIED' || type === 'OTHER_NAME') errors.add(join(mp, 'san_type'), `must be DNS, URI, EMAIL or IP_ADDRESS (got ${type})`);
    const matcher = compileStringMatcher(m.matcher, join(mp, 'matcher'), errors);
    if (matcher) sanMatchers.push({ type: type as SanMatcherRt['type'], matcher });
  });
  (v?.match_subject_alt_names ?? []).forEach((m, i) => {
    const matcher = compileStringMatcher(m, `${join(path, 'match_subject_alt_names')}[${i}]`, errors);
    if (matcher) sanMatchers.push({ type: 'ANY', matcher });
  });
  const trustedCa = v?.trusted_ca ? compileDataSource(v.trusted_ca, join(path, 'trusted_ca'), errors) : undefined;
  if (!trustedCa && sds === undefined) errors.add(join(path, 'trusted_ca'), 'is required (the roots peers must chain to)');
  return { ...(trustedCa ? { trustedCa } : {}), ...(sds !== undefined ? { sdsSecret: sds } : {}), sanMatchers };
}

/** An SDS secret config: its name (the SDS source is not contacted; the proxy's secret store answers). */
function sdsName(s: SdsSecretConfig, path: string, errors: Errors): string {
  allowOnly(s, path, ['name', 'sds_config'], errors);
  if (!s.name) errors.add(join(path, 'name'), 'must not be empty');
  return s.name ?? '';
}

export function compileDataSource(d: DataSource | null | undefined, path: string, errors: Errors): DataSourceRt | undefined {
  if (!d) {
    errors.add(path, 'is required');
    return undefined;
  }
  allowOnly(d, path, ['filename', 'inline_string', 'inline_bytes'], errors, ['specifier'], { environment_variable: 'environment_variable data sources are not supported by minimesh' });
  if (d.filename) return { kind: 'file', path: d.filename };
  if (d.inline_string) return { kind: 'inline', pem: d.inline_string };
  if (d.inline_bytes && d.inline_bytes.length > 0) return { kind: 'inline', pem: Buffer.from(d.inline_bytes).toString('utf8') };
  errors.add(path, 'needs filename, inline_string or inline_bytes');
  return undefined;
}
