/**
 * One accepted connection of a tcp_proxy chain (a plain tcp_proxy listener, or a chain of a
 * multi-chain listener after its TLS): the chain's network RBAC decides first (a denied
 * connection is closed without flushing, as Envoy's NoFlush), then a host of the cluster is
 * connected and the bytes relayed with Istio's TCP metrics (on a chain that runs the TCP
 * metadata exchange, after it: exchange-relay.ts). No cluster, no host: closed.
 */
import type net from 'node:net';
import type { TcpProxyRt } from '@minimesh/config/runtime';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { afterServerExchange, relayWithExchange } from './exchange-relay.js';
import { authorizeConnection, type RbacRun } from '../security/rbac-filter.js';
import { log } from '../log.js';
import { pickTcpCluster } from '@minimesh/config';
import { connectToCluster, relayTcp } from './tcp-cluster-connect.js';
import { proxyTcp } from '../capture/tcp-proxy.js';
import type { OriginalDst } from '../capture/original-dst.js';
import { UNKNOWN_PEER } from '../observability/istio/workload-peer.js';

export interface TcpProxyDeps {
  readonly clusters: ClusterManager;
  readonly istio: IstioMetrics;
  /** The listener, for log lines. */
  readonly listenerName: string;
}

/**
 * `peerPrincipal`: the client's verified identity (mTLS), for Istio's TCP metrics.
 * `originalDst`: where a captured connection was going (virtualInbound): RBAC's destination,
 * and the host an ORIGINAL_DST cluster (Istio's InboundPassthroughCluster) connects to.
 */
export function serveTcpProxy(socket: net.Socket, tcpProxy: TcpProxyRt, rbac: readonly RbacRun[] | undefined, deps: TcpProxyDeps, peerPrincipal?: string, originalDst?: OriginalDst): void {
  socket.on('error', () => socket.destroy());
  if (rbac !== undefined && !authorizeConnection(rbac, socket, originalDst === undefined ? undefined : `${originalDst.address}:${originalDst.port}`)) {
    log.debug({ listener: deps.listenerName }, 'rbac: connection denied');
    socket.destroy();
    return;
  }
  const name = pickTcpCluster(tcpProxy);
  const cluster = deps.clusters.get(name);
  if (cluster === undefined) {
    log.debug({ listener: deps.listenerName, cluster: name }, 'tcp_proxy: no such cluster, connection closed');
    socket.destroy();
    return;
  }
  socket.pause();
  const istio = tcpProxy.stats !== undefined ? { metrics: deps.istio, stats: tcpProxy.stats, ...(peerPrincipal !== undefined ? { principal: peerPrincipal } : {}) } : undefined;
  if (cluster.config.type === 'ORIGINAL_DST') {
    if (originalDst === undefined) {
      log.debug({ listener: deps.listenerName, cluster: name }, 'tcp_proxy: ORIGINAL_DST cluster without an original destination, connection closed');
      socket.destroy();
      return;
    }
    const c = cluster.config;
    // A chain that runs the metadata exchange trades preambles first: the app never sees them.
    afterServerExchange(socket, tcpProxy, istio, deps.istio, (scope, initial) => {
      if (socket.destroyed) return;
      const edge = scope === undefined ? undefined : scope.metrics.tcpEdge(scope.stats, scope.peer ?? UNKNOWN_PEER, c, '', '-', scope.principal, scope.localPrincipal);
      const uncounted = scope?.uncounted !== undefined ? { uncounted: scope.uncounted } : {};
      proxyTcp(socket, { host: originalDst.address, port: originalDst.port, ...(c.sourceAddress ? { localAddress: c.sourceAddress } : {}), connectTimeoutMs: c.connectTimeoutMs, stats: cluster.stats, istio: edge, idleTimeoutMs: tcpProxy.idleTimeoutMs, ...uncounted }, initial);
    });
    return;
  }
  connectToCluster(
    cluster,
    tcpProxy.maxConnectAttempts,
    () => socket.destroyed,
    (upstream, host) => (tcpProxy.peerExchange === undefined ? relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, istio, undefined, host, deps.istio) : relayWithExchange(socket, upstream, cluster, tcpProxy, istio, deps.istio, host)),
    () => socket.destroy(),
  );
}
