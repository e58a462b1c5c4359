/**
 * The identity a client sidecar verified on its upstream: the endpoint's TLS (the cluster's
 * transport socket, or the socket match its metadata selects) accepts exactly one URI SAN
 * (Istio's ISTIO_MUTUAL cluster of a service with one service account), so the server that
 * answered holds that identity. undefined when plain text or more than one SAN is accepted.
 */
import { X509Certificate } from 'node:crypto';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import { uriSanOf } from '../tls/peer-identity.js';

export function upstreamPrincipal(host: UpstreamHost | undefined): string | undefined {
  const sans = host?.tls?.tls.common.validation?.sanMatchers;
  if (sans === undefined || sans.length !== 1) return undefined;
  const m = sans[0];
  return (m.type === 'URI' || m.type === 'ANY') && m.matcher.kind === 'exact' && m.matcher.value.startsWith('spiffe://') ? m.matcher.value : undefined;
}

const ownIds = new WeakMap<object, string | undefined>();

/**
 * This proxy's own identity on an mTLS upstream (a client's `source_principal`): the URI SAN
 * of the certificate the endpoint's TLS presents (its SDS secret, Istio's `default`, as it is
 * now; or an inline certificate). undefined when plain text or no client certificate.
 */
export function upstreamLocalPrincipal(host: UpstreamHost | undefined): string | undefined {
  const target = host?.tls;
  if (target === undefined) return undefined;
  const common = target.tls.common;
  const name = common.certificateSds[0];
  const source = name !== undefined ? target.secrets.get(name) : common.certificates[0]?.certificateChain;
  if (source === undefined) return undefined;
  if (ownIds.has(source)) return ownIds.get(source);
  const pem = 'kind' in source ? (source.kind === 'inline' ? source.pem : undefined) : source.certificateChain;
  let id: string | undefined;
  try {
    id = pem === undefined ? undefined : uriSanOf(new X509Certificate(pem));
  } catch {
    id = undefined;
  }
  ownIds.set(source, id);
  return id;
}
