/**
 * One accepted connection of a tcp_proxy chain (a plain tcp_proxy listener, or a chain of a
 * multi-chain listener after its TLS): the chain's network RBAC decides first (a denied
 * connection is closed without flushing, as Envoy's NoFlush), then a host of the cluster is
 * connected and the bytes relayed with Istio's TCP metrics. No cluster, no host: closed.
 */
import type net from 'node:net';
import type { TcpProxyRt } from '@minimesh/config/runtime';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { authorizeConnection, type RbacRun } from '../security/rbac-filter.js';
import { log } from '../log.js';
import { pickTcpCluster } from '@minimesh/config';
import { connectToCluster, relayTcp } from './tcp-cluster-connect.js';

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
  const name = pickTcpCluster(tcpProxy);
  const cluster = deps.clusters.get(name);
  if (cluster === undefined) {
    log.debug({ listener: deps.listenerName, cluster: name }, 'tcp_proxy: no such cluster, connection closed');
    socket.destroy();
    return;
  }
  socket.pause();
  const istio = tcpProxy.stats !== undefined ? { metrics: deps.istio, stats: tcpProxy.stats, ...(peerPrincipal !== undefined ? { principal: peerPrincipal } : {}) } : undefined;
  connectToCluster(
    cluster,
    tcpProxy.maxConnectAttempts,
    () => socket.destroyed,
    (upstream) => relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, istio),
    () => socket.destroy(),
  );
}
