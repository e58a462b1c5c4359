/**
 * `x-forwarded-client-cert` as Envoy writes it (HCM `forward_client_cert_details` and
 * `set_current_client_cert_details`): elements separated by `,`, `key=value` pairs by `;`,
 * values holding `,`, `;` or `=` quoted, `Subject` always quoted. The current element names
 * this proxy (`By`, its URI SAN), the client certificate's SHA-256 (`Hash`), and as asked its
 * `Subject`, `URI`, `DNS` (repeated) and URL-encoded `Cert`/`Chain` PEM.
 *   SANITIZE (default)     the header is removed;
 *   FORWARD_ONLY           forwarded as is on mTLS, removed otherwise;
 *   APPEND_FORWARD         on mTLS the current element is appended (Istio's inbound sidecars);
 *   SANITIZE_SET           on mTLS it replaces the header (Istio's gateways);
 *   ALWAYS_FORWARD_ONLY    forwarded as is, mTLS or not.
 * Without a verified client certificate the non-ALWAYS modes remove the header.
 */
import { createHash, type X509Certificate } from 'node:crypto';

export type ForwardClientCertDetails = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

export interface SetCurrentClientCertDetails {
  readonly subject: boolean;
  readonly uri: boolean;
  readonly dns: boolean;
  readonly cert: boolean;
  readonly chain: boolean;
}

/** Istio's inbound choice: Subject, URI and DNS; no Cert, no Chain. */
export const ISTIO_CLIENT_CERT_DETAILS: SetCurrentClientCertDetails = { subject: true, uri: true, dns: true, cert: false, chain: false };

export interface ClientCertInfo {
  /** This proxy's URI SAN (`By`). */
  readonly localUri: string;
  /** The client's leaf certificate. */
  readonly peer: X509Certificate;
  /** The client's chain after the leaf (for `Chain`). */
  readonly chain?: readonly X509Certificate[];
}

const quoteIfNeeded = (v: string): string => (/[,;="]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v);

/** The SANs of a certificate by kind (`URI:...`, `DNS:...` in Node's subjectAltName string). */
export function subjectAltNames(cert: X509Certificate): { uri: string[]; dns: string[] } {
  const uri: string[] = [];
  const dns: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('URI:')) uri.push(part.slice(4));
    else if (part.startsWith('DNS:')) dns.push(part.slice(4));
  }
  return { uri, dns };
}

/** The element this proxy adds for the client certificate of the current connection. */
export function currentXfccElement(info: ClientCertInfo, set: SetCurrentClientCertDetails): string {
  const pairs: string[] = [];
  if (info.localUri !== '') pairs.push(`By=${quoteIfNeeded(info.localUri)}`);
  pairs.push(`Hash=${createHash('sha256').update(info.peer.raw).digest('hex')}`);
  if (set.cert) pairs.push(`Cert=${quoteIfNeeded(encodeURIComponent(info.peer.toString()))}`);
  if (set.chain) pairs.push(`Chain=${quoteIfNeeded(encodeURIComponent([info.peer, ...(info.chain ?? [])].map((c) => c.toString()).join('')))}`);
  const sans = subjectAltNames(info.peer);
  if (set.subject) pairs.push(`Subject="${subjectLine(info.peer).replace(/"/g, '\\"')}"`);
  if (set.uri) pairs.push(`URI=${quoteIfNeeded(sans.uri[0] ?? '')}`);
  if (set.dns) for (const d of sans.dns) pairs.push(`DNS=${quoteIfNeeded(d)}`);
  return pairs.join(';');
}

/** The subject in RFC 2253 order, as Envoy prints it ('' for Istio's subject-less certificates). */
function subjectLine(cert: X509Certificate): string {
  const lines = (cert.subject ?? '').split('\n').filter((l) => l !== '');
  return lines.reverse().join(',');
}

/**
 * The header to send upstream: `existing` as received, `current` the element for a verified
 * client certificate (undefined on plain text or without one). undefined: no header.
 */
export function forwardedClientCert(mode: ForwardClientCertDetails, existing: string | undefined, current: string | undefined): string | undefined {
  switch (mode) {
    case 'ALWAYS_FORWARD_ONLY':
      return existing;
    case 'FORWARD_ONLY':
      return current === undefined ? undefined : existing;
    case 'APPEND_FORWARD':
      if (current === undefined) return undefined;
      return existing === undefined || existing === '' ? current : `${existing},${current}`;
    case 'SANITIZE_SET':
      return current;
    default:
      return undefined;
  }
}
