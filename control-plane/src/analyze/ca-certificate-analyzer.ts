/**
 * A DestinationRule originating TLS (mode SIMPLE or MUTUAL) without `caCertificates` does not
 * check who the server is:
 *   IST0128 NoServerCertificateVerificationDestinationLevel, for `trafficPolicy.tls`;
 *   IST0129 NoServerCertificateVerificationPortLevel, for `trafficPolicy.portLevelSettings[].tls`.
 * A `credentialName` stands for the CA only when the rule has a `workloadSelector` (without one,
 * sidecars ignore it and only gateways read it), as Istio decides since 1.23.
 */
import { noServerCertificateVerificationDestinationLevel, noServerCertificateVerificationPortLevel, type AnalysisMessage } from './analysis-message.js';
import { field, isRecord, records, spec, str, type AnalysisContext } from './analysis-context.js';

const VERIFYING_MODES = new Set(['SIMPLE', 'MUTUAL']);

/** The TLS mode when it needs a CA it was not given, else undefined. */
function unverifiedMode(tls: unknown, hasWorkloadSelector: boolean): string | undefined {
  const mode = str(field(tls, 'mode'));
  if (!mode || !VERIFYING_MODES.has(mode)) return undefined;
  if (str(field(tls, 'caCertificates'))) return undefined;
  if (str(field(tls, 'credentialName')) && hasWorkloadSelector) return undefined;
  return mode;
}

export function analyzeCaCertificates(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const dr of ctx.of('DestinationRule')) {
    const s = spec(dr);
    const host = str(s.host) ?? '';
    const name = `${dr.namespace}/${dr.name}`;
    const selected = isRecord(s.workloadSelector);
    const mode = unverifiedMode(field(s, 'trafficPolicy', 'tls'), selected);
    if (mode) out.push(noServerCertificateVerificationDestinationLevel(dr.origin, name, dr.namespace, mode, host));
    for (const p of records(field(s, 'trafficPolicy', 'portLevelSettings'))) {
      const portMode = unverifiedMode(p.tls, selected);
      const n = field(p, 'port', 'number');
      if (portMode) out.push(noServerCertificateVerificationPortLevel(dr.origin, name, dr.namespace, portMode, host, typeof n === 'number' ? `number:${n}` : ''));
    }
  }
  return out;
}
