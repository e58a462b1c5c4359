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
import { bindServer } from '../listener.js';
import { serveTcpProxy } from './serve-tcp-proxy.js';
import type { RbacRun } from '../security/rbac-filter.js';

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
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    serveTcpProxy(socket, this.ctx.tcpProxy, this.ctx.rbac, { clusters: this.ctx.clusters, istio: this.ctx.istio, listenerName: this.config.name });
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
