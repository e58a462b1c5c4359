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

export function relayWithExchange(socket: net.Socket, upstream: net.Socket, cluster: Cluster, tcpProxy: TcpProxyRt, istio: TcpMetricsScope | undefined, local: IstioMetrics, host?: UpstreamHost): void {
  const own = tlsPrincipals(socket).local;
  const scope = istio !== undefined && istio.principal !== undefined && own !== undefined ? { ...istio, localPrincipal: own } : istio;
  const mx = tcpProxy.peerExchange;
  if (mx === undefined || !negotiatedExchange(socket, mx.protocol)) return relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, scope, undefined, host, local);
  // The upstream's errors are the relay's once it runs; until then they end both sides.
  const onUpstreamError = (): void => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', onUpstreamError);
  exchangePeerMetadata(socket, localPreamble(local, own), (r) => {
    upstream.off('error', onUpstreamError);
    if (socket.destroyed || upstream.destroyed) {
      socket.destroy();
      upstream.destroy();
      return;
    }
    const exchanged = scope === undefined ? undefined : { ...scope, ...(r.peer !== undefined ? { peer: r.peer } : {}), uncounted: { sent: r.wrote, received: r.read } };
    relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, exchanged, r.rest, host, local);
  });
}
