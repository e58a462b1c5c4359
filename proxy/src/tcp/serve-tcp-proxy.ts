/**
 * One accepted connection of a tcp_proxy chain (a plain tcp_proxy listener, or a chain of a
 * multi-chain listener after its TLS): the chain's network RBAC decides first (a denied
 * connection is closed without flushing, as Envoy's NoFlush); a chain that runs Istio's TCP
 * metadata exchange and whose TLS negotiated its ALPN then trades workload metadata with the
 * client (the client's preamble is taken off the stream, ours written); then a host of the
 * cluster is connected and the bytes relayed with Istio's TCP metrics. No cluster, no host:
 * closed.
 */
import type net from 'node:net';
import type { TcpProxyRt } from '@minimesh/config/runtime';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { authorizeConnection, type RbacRun } from '../security/rbac-filter.js';
import { log } from '../log.js';
import { connectToCluster, relayTcp, type TcpRelayScope } from './tcp-cluster-connect.js';
import { exchangePeerMetadata, localPreamble, negotiatedExchange, tlsPrincipals } from './peer-exchange.js';

export interface TcpProxyDeps {
  readonly clusters: ClusterManager;
  readonly istio: IstioMetrics;
  /** The listener, for log lines. */
  readonly listenerName: string;
}

/** `peerPrincipal`: the client's verified identity (mTLS), for Istio's TCP metrics. */
export function serveTcpProxy(socket: net.Socket, tcpProxy: TcpProxyRt, rbac: readonly RbacRun[] | undefined, deps: TcpProxyDeps, peerPrincipal?: string): void {
  socket.on('error', () => socket.destroy());
  if (rbac !== undefined && !authorizeConnection(rbac, socket)) {
    log.debug({ listener: deps.listenerName }, 'rbac: connection denied');
    socket.destroy();
    return;
  }
  const cluster = deps.clusters.get(tcpProxy.cluster);
  if (cluster === undefined) {
    log.debug({ listener: deps.listenerName, cluster: tcpProxy.cluster }, 'tcp_proxy: no such cluster, connection closed');
    socket.destroy();
    return;
  }
  socket.pause();
  const localPrincipal = peerPrincipal !== undefined ? tlsPrincipals(socket).local : undefined;
  const base: TcpRelayScope = {
    metrics: deps.istio,
    stats: tcpProxy.stats,
    ...(peerPrincipal !== undefined ? { principal: peerPrincipal } : {}),
    ...(localPrincipal !== undefined ? { localPrincipal } : {}),
  };
  const connect = (scope: TcpRelayScope, initial: Buffer | undefined): void =>
    connectToCluster(
      cluster,
      tcpProxy.maxConnectAttempts,
      () => socket.destroyed,
      (upstream, host) => relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, scope, initial, host),
      () => socket.destroy(),
    );
  const mx = tcpProxy.peerExchange;
  if (mx === undefined || !negotiatedExchange(socket, mx.protocol)) return connect(base, undefined);
  exchangePeerMetadata(socket, localPreamble(deps.istio, tlsPrincipals(socket).local), (r) => {
    if (socket.destroyed) return;
    connect({ ...base, ...(r.peer !== undefined ? { peer: r.peer } : {}), uncounted: { sent: r.wrote, received: r.read } }, r.rest);
  });
}
