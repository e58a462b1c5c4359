/**
 * A peer certificate's subject alternative names, the mesh identity among them (the URI
 * SAN, `spiffe://TD/ns/NS/sa/SA`), and Envoy's SAN matchers (`match_typed_subject_alt_names`).
 * Node's default server identity check ignores URI SANs, so a client that expects a SPIFFE
 * identity checks it here instead.
 */
import type { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { matchString } from '@minimesh/config';
import type { SanMatcherRt } from '@minimesh/config/tls-runtime';

export interface SubjectAltName {
  readonly type: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER';
  readonly value: string;
}

const TYPES: Readonly<Record<string, SubjectAltName['type']>> = { DNS: 'DNS', URI: 'URI', email: 'EMAIL', 'IP Address': 'IP_ADDRESS' };

/** Parses Node's `subjectaltname` text (`DNS:a, URI:spiffe://..., IP Address:10.0.0.1`). */
export function parseSubjectAltNames(text: string | undefined): SubjectAltName[] {
  if (!text) return [];
  const out: SubjectAltName[] = [];
  // Values with commas or quotes come JSON-quoted: `URI:"a,b"`.
  const re = /(DNS|URI|email|IP Address|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    const raw = m[2];
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    out.push({ type: TYPES[m[1]] ?? 'OTHER', value });
  }
  return out;
}

/** The first URI SAN of a peer certificate (`getPeerCertificate()` form), or undefined. */
export function uriSanOf(cert: tls.PeerCertificate | X509Certificate | undefined | null): string | undefined {
  const text = cert === undefined || cert === null ? undefined : 'subjectaltname' in cert ? cert.subjectaltname : (cert as X509Certificate).subjectAltName;
  return parseSubjectAltNames(text).find((s) => s.type === 'URI')?.value;
}

/** Envoy: with matchers, some SAN of the right type must match one of them; without, any certificate passes. */
export function sansMatch(matchers: readonly SanMatcherRt[], sans: readonly SubjectAltName[]): boolean {
  if (matchers.length === 0) return true;
  for (const m of matchers) {
    for (const s of sans) {
      if ((m.type === 'ANY' ? s.type !== 'OTHER' : s.type === m.type) && matchString(m.matcher, s.value)) return true;
    }
  }
  return false;
}

/**
 * `checkServerIdentity` for an upstream TLS context: the SAN matchers decide (Node's default
 * hostname check is not used: the SNI of a mesh cluster is not a host name of the server).
 */
export function checkServerSans(matchers: readonly SanMatcherRt[]): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const sans = parseSubjectAltNames(cert.subjectaltname);
    if (sansMatch(matchers, sans)) return undefined;
    const err = new Error(`TLS_error: the upstream certificate's SANs [${sans.map((s) => `${s.type}:${s.value}`).join(', ')}] match no match_typed_subject_alt_names entry`) as NodeJS.ErrnoException;
    err.code = 'TLS_error:SAN_MISMATCH';
    return err;
  };
}
