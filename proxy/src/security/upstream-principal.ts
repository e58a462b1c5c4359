/**
 * The identity a client sidecar verified on its upstream: the endpoint's TLS (the cluster's
 * transport socket, or the socket match its metadata selects) accepts exactly one URI SAN
 * (Istio's ISTIO_MUTUAL cluster of a service with one service account), so the server that
 * answered holds that identity. undefined when plain text or more than one SAN is accepted.
 */
import type { UpstreamHost } from '../upstream/upstream-host.js';

export function upstreamPrincipal(host: UpstreamHost | undefined): string | undefined {
  const sans = host?.tls?.tls.common.validation?.sanMatchers;
  if (sans === undefined || sans.length !== 1) return undefined;
  const m = sans[0];
  return (m.type === 'URI' || m.type === 'ANY') && m.matcher.kind === 'exact' && m.matcher.value.startsWith('spiffe://') ? m.matcher.value : undefined;
}
