/**
 * Validators for TLS in Istio config and for Secrets: a Gateway server's `tls`, a
 * VirtualService's `tls` routes, and core/v1 Secrets (base64 `data`, plain `stringData`).
 */
import { at, checkArray, checkFields, checkInt, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';
import { SERVER_TLS_MODES, TLS_PROTOCOL_VERSIONS } from './types-tls.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `servers[].tls`; `protocol` is the server port's protocol, upper case. */
export function validateServerTls(c: IssueCollector, tls: unknown, path: string, protocol: string | undefined): void {
  const fields = ['httpsRedirect', 'mode', 'credentialName', 'serverCertificate', 'privateKey', 'caCertificates', 'subjectAltNames', 'minProtocolVersion', 'maxProtocolVersion', 'cipherSuites'];
  if (!checkFields(c, tls, path, fields, ['credentialNames', 'tlsCertificates', 'verifyCertificateSpki', 'verifyCertificateHash', 'caCrl'])) return;
  if (tls.httpsRedirect !== undefined && typeof tls.httpsRedirect !== 'boolean') c.error(at(path, 'httpsRedirect'), 'must be true or false');
  for (const k of ['credentialName', 'serverCertificate', 'privateKey', 'caCertificates']) checkString(c, tls[k], at(path, k));
  for (const k of ['minProtocolVersion', 'maxProtocolVersion']) {
    if (tls[k] !== undefined && !TLS_PROTOCOL_VERSIONS.includes(tls[k] as never)) c.error(at(path, k), `must be one of ${TLS_PROTOCOL_VERSIONS.join(', ')}`);
  }
  for (const k of ['subjectAltNames', 'cipherSuites']) if (checkArray(c, tls[k], at(path, k))) (tls[k] as unknown[]).forEach((v, i) => checkString(c, v, at(at(path, k), i), true));
  // Istio's enum: an unset mode is PASSTHROUGH.
  const mode = tls.mode ?? 'PASSTHROUGH';
  if (tls.mode !== undefined && !SERVER_TLS_MODES.includes(tls.mode as never)) return c.error(at(path, 'mode'), `must be one of ${SERVER_TLS_MODES.join(', ')}`);
  if (protocol !== 'HTTPS' && protocol !== 'TLS') {
    if (tls.mode !== undefined) c.warn(at(path, 'mode'), `is ignored on a ${protocol ?? '(no protocol)'} server (HTTPS and TLS servers take it)`);
    return;
  }
  const certs = ['credentialName', 'serverCertificate', 'privateKey', 'caCertificates'].filter((k) => tls[k] !== undefined);
  if (mode === 'PASSTHROUGH' && certs.length > 0) c.warn(at(path, 'mode'), `${tls.mode === undefined ? 'is unset, which means PASSTHROUGH' : 'is PASSTHROUGH'}: TLS is not terminated and ${certs.join(', ')} ${certs.length > 1 ? 'are' : 'is'} ignored (set mode: SIMPLE to terminate it)`);
  if (mode === 'AUTO_PASSTHROUGH' || mode === 'OPTIONAL_MUTUAL') c.warn(at(path, 'mode'), `${String(mode)} is not translated by minimesh yet; this server is ignored`);
  if (protocol === 'TLS' && mode !== 'PASSTHROUGH' && mode !== 'AUTO_PASSTHROUGH') c.warn(at(path, 'mode'), `${String(mode)} on a TLS server (terminated TCP) is not translated by minimesh yet; this server is ignored`);
  if (mode === 'SIMPLE' || mode === 'MUTUAL') {
    const files = tls.serverCertificate !== undefined || tls.privateKey !== undefined;
    if (tls.credentialName === undefined && !files) c.error(path, `${mode} needs credentialName, or serverCertificate and privateKey`);
    if (tls.credentialName === undefined && files && (tls.serverCertificate === undefined || tls.privateKey === undefined)) c.error(path, 'serverCertificate and privateKey go together');
    if (mode === 'MUTUAL' && tls.credentialName === undefined && tls.caCertificates === undefined) c.error(at(path, 'caCertificates'), 'is required for MUTUAL without credentialName');
  }
}

/** `spec.tls[]` of a VirtualService: SNI matches and weighted destinations. */
export function validateTlsRoutes(c: IssueCollector, routes: unknown, path: string): void {
  if (!checkArray(c, routes, path)) return;
  routes.forEach((r, i) => {
    const rp = at(path, i);
    if (!checkFields(c, r, rp, ['match', 'route'])) return c.error(rp, 'must be an object');
    if (checkArray(c, r.match, at(rp, 'match'), true)) {
      if (r.match.length === 0) c.error(at(rp, 'match'), 'must have at least one match');
      r.match.forEach((m, j) => {
        const mp = at(at(rp, 'match'), j);
        if (!checkFields(c, m, mp, ['sniHosts', 'port', 'gateways'], ['destinationSubnets', 'sourceLabels', 'sourceNamespace'])) return;
        if (checkArray(c, m.sniHosts, at(mp, 'sniHosts'), true)) {
          if (m.sniHosts.length === 0) c.error(at(mp, 'sniHosts'), 'must have at least one host');
          m.sniHosts.forEach((h, k) => checkString(c, h, at(at(mp, 'sniHosts'), k), true));
        }
        checkInt(c, m.port, at(mp, 'port'), 1, 65535);
        if (checkArray(c, m.gateways, at(mp, 'gateways'))) m.gateways.forEach((g, k) => checkString(c, g, at(at(mp, 'gateways'), k), true));
      });
    }
    if (checkArray(c, r.route, at(rp, 'route'))) {
      r.route.forEach((d, j) => {
        const dp = at(at(rp, 'route'), j);
        if (!checkFields(c, d, dp, ['destination', 'weight'])) return;
        if (!checkFields(c, d.destination, at(dp, 'destination'), ['host', 'subset', 'port'])) return c.error(at(dp, 'destination'), 'is required');
        checkString(c, d.destination.host, at(at(dp, 'destination'), 'host'), true);
        checkString(c, d.destination.subset, at(at(dp, 'destination'), 'subset'));
        if (checkFields(c, d.destination.port, at(at(dp, 'destination'), 'port'), ['number'])) checkInt(c, d.destination.port.number, at(at(at(dp, 'destination'), 'port'), 'number'), 1, 65535, true);
        checkInt(c, d.weight, at(dp, 'weight'), 0, 100);
      });
    }
  });
}

/** A core/v1 Secret: `data` values must be base64, `stringData` values strings. */
export function validateSecret(c: IssueCollector, r: Record<string, unknown>): void {
  if (r.type !== undefined) checkString(c, r.type, 'type');
  for (const k of ['data', 'stringData']) {
    const m = r[k];
    if (m === undefined || m === null) continue;
    if (!isObject(m)) {
      c.error(k, 'must be a mapping of key to value');
      continue;
    }
    for (const [key, v] of Object.entries(m)) {
      if (typeof v !== 'string') c.error(at(k, key), 'must be a string');
      else if (k === 'data' && !BASE64.test(v.replace(/\s+/g, ''))) c.error(at(k, key), 'must be base64 (use stringData for plain text)');
    }
  }
}

/** A Secret's keys and values as text: `data` decoded, `stringData` on top (as the API server merges them). */
export function secretValues(s: { data?: Record<string, string>; stringData?: Record<string, string> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}
