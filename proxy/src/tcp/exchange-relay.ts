/**
 * tcp_proxy's relay on a chain that runs Istio's TCP metadata exchange (`istio.metadata_exchange`
 * before tcp_proxy, the server side): once the upstream is connected (Envoy's tcp_proxy dials
 * at once too), a connection whose TLS negotiated the exchange's ALPN trades preambles with the
 * client (ours written, the client's taken off the stream, peer-exchange.ts); the bytes after
 * it go to the upstream, and the client's workload fills `source_*`. A connection without that
 * ALPN is relayed as it is. Over mTLS this proxy's own certificate gives `destination_principal`.
 */
import type net from 'node:net';
import type { TcpProxyRt } from '@minimesh/config/runtime';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { relayTcp, type TcpMetricsScope } from './tcp-cluster-connect.js';
import { exchangePeerMetadata, localPreamble, negotiatedExchange, tlsPrincipals } from './peer-exchange.js';

/**
 * The server side of the exchange on `socket` when its chain runs it and its TLS negotiated the
 * ALPN, then `go` with the metrics scope (the client's workload, this proxy's principal, the
 * preambles' bytes not counted) and the stream's first bytes; otherwise `go` at once. For any
 * tcp_proxy path of such a chain (a cluster's hosts, or an ORIGINAL_DST destination); `go`
 * checks whether the socket is still there.
 */
export function afterServerExchange(
  socket: net.Socket,
  tcpProxy: TcpProxyRt,
  istio: TcpMetricsScope | undefined,
  local: IstioMetrics,
  go: (istio: TcpMetricsScope | undefined, initial: Buffer | undefined) => void,
): void {
  const own = tlsPrincipals(socket).local;
  const scope = istio !== undefined && istio.principal !== undefined && own !== undefined ? { ...istio, localPrincipal: own } : istio;
  const mx = tcpProxy.peerExchange;
  if (mx === undefined || !negotiatedExchange(socket, mx.protocol)) return go(scope, undefined);
  exchangePeerMetadata(socket, localPreamble(local, own), (r) => {
    go(scope === undefined ? undefined : { ...scope, ...(r.peer !== undefined ? { peer: r.peer } : {}), uncounted: { sent: r.wrote, received: r.read } }, r.rest);
  });
}

/** tcp_proxy's relay to a connected host of `cluster`, after the exchange (afterServerExchange). */
export function relayWithExchange(socket: net.Socket, upstream: net.Socket, cluster: Cluster, tcpProxy: TcpProxyRt, istio: TcpMetricsScope | undefined, local: IstioMetrics, host?: UpstreamHost): void {
  // The upstream's errors are the relay's once it runs; until then they end both sides.
  const onUpstreamError = (): void => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', onUpstreamError);
  afterServerExchange(socket, tcpProxy, istio, local, (scope, initial) => {
    upstream.off('error', onUpstreamError);
    if (socket.destroyed || upstream.destroyed) {
      socket.destroy();
      upstream.destroy();
      return;
    }
    relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, scope, initial, host, local);
  });
}
