/**
 * A tcp_proxy listener (Envoy's `envoy.filters.network.tcp_proxy`): every accepted
 * connection goes, unparsed, to a host of the listener's cluster (Istio's listeners for TCP
 * service ports). A new config for the same address swaps the config; connections already
 * relayed keep their upstream. No cluster, no healthy host or no host accepting: the
 * client's connection is closed (Envoy's `UH`/`UF`).
 */
import net from 'node:net';
import type { ListenerRt, TcpProxyRt } from '@minimesh/config/runtime';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { log } from '../log.js';
import { bindServer } from '../listener.js';
import { connectToCluster, relayTcp } from './tcp-cluster-connect.js';
import { authorizeConnection, type RbacRun } from '../security/rbac-filter.js';

export interface TcpProxyContext {
  readonly tcpProxy: TcpProxyRt;
  readonly clusters: ClusterManager;
  readonly istio: IstioMetrics;
  /** The chain's `envoy.filters.network.rbac` filters (undefined: none). */
  readonly rbac?: readonly RbacRun[];
}

export class TcpProxyListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  draining = false;

  constructor(
    public config: ListenerRt,
    public ctx: TcpProxyContext,
  ) {
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  private accept(socket: net.Socket): void {
    const { tcpProxy, clusters } = this.ctx;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (this.ctx.rbac !== undefined && !authorizeConnection(this.ctx.rbac, socket)) {
      // Envoy's network RBAC closes a denied connection without flushing (NoFlush).
      log.debug({ listener: this.config.name }, 'rbac: connection denied');
      socket.destroy();
      return;
    }
    const cluster = clusters.get(tcpProxy.cluster);
    if (cluster === undefined) {
      log.debug({ listener: this.config.name, cluster: tcpProxy.cluster }, 'tcp_proxy: no such cluster, connection closed');
      socket.destroy();
      return;
    }
    socket.pause();
    const istio = tcpProxy.stats !== undefined ? { metrics: this.ctx.istio, stats: tcpProxy.stats } : undefined;
    connectToCluster(
      cluster,
      tcpProxy.maxConnectAttempts,
      () => socket.destroyed,
      (upstream) => relayTcp(socket, upstream, cluster, tcpProxy.idleTimeoutMs, istio),
      () => socket.destroy(),
    );
  }

  listen(): Promise<void> {
    return bindServer(this.server, this.config);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : this.config.port;
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  /** Stops accepting; relayed connections go on until they close or closeAll(). */
  drain(): Promise<void> {
    this.draining = true;
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  closeAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}
