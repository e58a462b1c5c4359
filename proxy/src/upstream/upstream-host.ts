/**
 * One endpoint of a cluster and its keep-alive pool: idle connections (most recently used
 * first, so few stay warm) and the count of open ones. Requests waiting for a connection
 * when the cluster's `max_connections` circuit breaker is reached queue on the cluster
 * (the limit is the cluster's, so any host's freed slot serves them).
 */
import type { EndpointRt } from '@minimesh/config/runtime';
import type { LbHost } from './lb/load-balancer.js';
import { UpstreamConnection, type ConnectionOwner, type UpstreamHandler } from './upstream-connection.js';
import type { Cluster } from './cluster.js';
import { peerFromEndpointMetadata, type WorkloadPeer } from '../observability/istio/workload-peer.js';

/** A request waiting for a connection to `host`. */
export interface PendingRequest {
  readonly host: UpstreamHost;
  readonly handler: UpstreamHandler;
  readonly isHead: boolean;
}

export type AcquireResult = 'ok' | 'overflow';

export class UpstreamHost implements LbHost, ConnectionOwner {
  readonly key: string;
  readonly weight: number;
  /** The workload behind this endpoint (endpoint metadata `istio.workload`), for Istio's metrics. */
  readonly peer: WorkloadPeer | undefined;
  activeRequests = 0;
  /** Requests sent to this host, and those answered with 5xx or failed (for /clusters). */
  rqTotal = 0;
  rqError = 0;
  private readonly idle: UpstreamConnection[] = [];
  connections = 0;

  constructor(
    readonly cluster: Cluster,
    readonly endpoint: EndpointRt,
  ) {
    this.key = `${endpoint.address}:${endpoint.port}`;
    this.weight = endpoint.weight;
    this.peer = peerFromEndpointMetadata(endpoint.workload ?? '');
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /**
   * Gets a connection for `handler`: an idle one at once, a new one (the handler hears
   * `onConnected`), or a place in the queue when the cluster is at `max_connections`.
   */
  acquire(handler: UpstreamHandler, isHead: boolean): AcquireResult {
    const idle = this.idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      // A connection the upstream is closing (FIN seen, 'close' not yet emitted) is not reused.
      if (!conn.closed && !conn.socket.readableEnded && !conn.socket.destroyed) {
        conn.attach(handler, isHead);
        return 'ok';
      }
      conn.destroy();
    }
    const cluster = this.cluster;
    if (cluster.connections >= cluster.config.circuitBreakers.maxConnections) {
      cluster.stats.upstream_cx_overflow++;
      if (cluster.pending.length >= cluster.config.circuitBreakers.maxPendingRequests) {
        cluster.stats.upstream_rq_pending_overflow++;
        return 'overflow';
      }
      cluster.stats.upstream_rq_pending_total++;
      cluster.stats.upstream_rq_pending_active++;
      cluster.pending.push({ host: this, handler, isHead });
      // An idle connection to another host holds a slot this request could use.
      cluster.closeOneIdle();
      return 'ok';
    }
    this.open().attach(handler, isHead);
    return 'ok';
  }

  release(conn: UpstreamConnection): void {
    const cluster = this.cluster;
    const max = cluster.config.maxRequestsPerConnection;
    if (cluster.removed || (max > 0 && conn.requests >= max)) {
      conn.destroy();
      return;
    }
    const first = cluster.pending[0];
    if (first !== undefined) {
      if (first.host === this) {
        cluster.pending.shift();
        cluster.stats.upstream_rq_pending_active--;
        conn.attach(first.handler, first.isHead);
      } else {
        // The oldest waiting request wants another host: this slot goes to it (see closed()).
        conn.destroy();
      }
      return;
    }
    conn.idleSince = Date.now();
    this.idle.push(conn);
  }

  closed(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.connections--;
    const cluster = this.cluster;
    cluster.connections--;
    cluster.stats.upstream_cx_active--;
    cluster.stats.upstream_cx_destroy++;
    cluster.servePending();
  }

  /** Closes one idle connection, if there is one; true if it did. */
  closeOneIdle(): boolean {
    const conn = this.idle.pop();
    if (conn === undefined) return false;
    conn.destroy();
    return true;
  }

  /** Closes connections idle for longer than `idleTimeoutMs`; all of them when 0 is given. */
  closeIdle(now: number, idleTimeoutMs: number): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i];
      if (idleTimeoutMs === 0 || now - conn.idleSince >= idleTimeoutMs) {
        this.idle.splice(i, 1);
        conn.destroy();
      }
    }
  }

  /** Opens a new connection (the caller checked the circuit breaker). */
  open(): UpstreamConnection {
    const cluster = this.cluster;
    this.connections++;
    cluster.connections++;
    cluster.stats.upstream_cx_total++;
    cluster.stats.upstream_cx_active++;
    return new UpstreamConnection(this, this.endpoint.address, this.endpoint.port, cluster.config.connectTimeoutMs, cluster.config.sourceAddress);
  }
}
