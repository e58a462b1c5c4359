/**
 * What Istio's `istio.alpn` HTTP filter does on a sidecar's (or gateway's) outbound side: an
 * HTTP request sent over a mesh mTLS context (ALPN `istio-peer-exchange, istio`) offers the
 * ALPN of its upstream protocol instead, `istio-http/1.1, istio, http/1.1` or
 * `istio-h2, istio, h2` (`pilot/pkg/xds/filters`), so the server's `virtualInbound` picks its
 * HTTP chain even on a port it sniffs. Other contexts (SIMPLE, MUTUAL to outside servers) keep
 * their ALPN. minimesh applies it to every HTTP connection pool rather than through a filter.
 */
export function meshHttpAlpn(alpn: readonly string[], codec: 'HTTP1' | 'HTTP2'): readonly string[] {
  if (!alpn.includes('istio')) return alpn;
  return codec === 'HTTP2' ? ['istio-h2', 'istio', 'h2'] : ['istio-http/1.1', 'istio', 'http/1.1'];
}
