/** DestinationRule `trafficPolicy.tls` (Istio's ClientTLSSettings), checked as Istio's validation does. */
import { at, checkArray, checkFields, checkString } from './check.js';
import type { IssueCollector } from './issues.js';

const MODES = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];

export function checkClientTls(c: IssueCollector, tls: unknown, path: string): void {
  if (!checkFields(c, tls, path, ['mode', 'clientCertificate', 'privateKey', 'caCertificates', 'credentialName', 'subjectAltNames', 'sni', 'insecureSkipVerify'], ['caCrl'])) return;
  const mode = tls.mode ?? 'DISABLE';
  if (typeof mode !== 'string' || !MODES.includes(mode)) return c.error(at(path, 'mode'), `must be one of ${MODES.join(', ')}`);
  for (const f of ['clientCertificate', 'privateKey', 'caCertificates', 'credentialName', 'sni'] as const) checkString(c, tls[f], at(path, f));
  if (checkArray(c, tls.subjectAltNames, at(path, 'subjectAltNames'))) tls.subjectAltNames.forEach((s, i) => checkString(c, s, at(at(path, 'subjectAltNames'), i), true));
  if (tls.insecureSkipVerify !== undefined && typeof tls.insecureSkipVerify !== 'boolean') c.error(at(path, 'insecureSkipVerify'), 'must be true or false');
  if (mode === 'MUTUAL' && tls.credentialName === undefined && (tls.clientCertificate === undefined || tls.privateKey === undefined)) c.error(path, 'MUTUAL needs clientCertificate and privateKey, or credentialName');
  if (mode === 'ISTIO_MUTUAL' && ['clientCertificate', 'privateKey', 'caCertificates', 'credentialName'].some((f) => tls[f] !== undefined)) c.error(path, 'ISTIO_MUTUAL uses the mesh certificates: clientCertificate, privateKey, caCertificates and credentialName must be empty');
}
