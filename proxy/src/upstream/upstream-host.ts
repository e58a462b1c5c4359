/**
 * One endpoint of a cluster and its keep-alive pool: idle connections (most recently used
 * first, so few stay warm), the count of open ones, and requests waiting for a connection
 * when the cluster's `max_connections` circuit breaker is reached.
 */
import type { EndpointRt } from '@minimesh/config/runtime';
import type { LbHost } from './lb/load-balancer.js';
import { UpstreamConnection, type ConnectionOwner, type UpstreamHandler } from './upstream-connection.js';
import type { Cluster } from './cluster.js';

interface Pending {
  handler: UpstreamHandler;
  isHead: boolean;
}

export type AcquireResult = 'ok' | 'overflow';

export class UpstreamHost implements LbHost, ConnectionOwner {
  readonly key: string;
  readonly weight: number;
  activeRequests = 0;
  /** Requests sent to this host, and those answered with 5xx or failed (for /clusters). */
  rqTotal = 0;
  rqError = 0;
  private readonly idle: UpstreamConnection[] = [];
  private readonly pending: Pending[] = [];
  connections = 0;

  constructor(
    readonly cluster: Cluster,
    readonly endpoint: EndpointRt,
  ) {
    this.key = `${endpoint.address}:${endpoint.port}`;
    this.weight = endpoint.weight;
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
      if (!conn.closed) {
        conn.attach(handler, isHead);
        return 'ok';
      }
    }
    const cluster = this.cluster;
    if (cluster.connections >= cluster.config.circuitBreakers.maxConnections) {
      cluster.stats.upstream_cx_overflow++;
      if (cluster.pendingRequests >= cluster.config.circuitBreakers.maxPendingRequests) {
        cluster.stats.upstream_rq_pending_overflow++;
        return 'overflow';
      }
      cluster.pendingRequests++;
      cluster.stats.upstream_rq_pending_total++;
      cluster.stats.upstream_rq_pending_active++;
      this.pending.push({ handler, isHead });
      return 'ok';
    }
    this.open().attach(handler, isHead);
    return 'ok';
  }

  /** Takes `handler` out of the queue (its request gave up while waiting). */
  cancelPending(handler: UpstreamHandler): void {
    const i = this.pending.findIndex((p) => p.handler === handler);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.cluster.pendingRequests--;
      this.cluster.stats.upstream_rq_pending_active--;
    }
  }

  release(conn: UpstreamConnection): void {
    const max = this.cluster.config.maxRequestsPerConnection;
    if (this.cluster.removed || (max > 0 && conn.requests >= max)) {
      conn.destroy();
      return;
    }
    const next = this.dequeue();
    if (next !== undefined) {
      conn.attach(next.handler, next.isHead);
      return;
    }
    conn.idleSince = Date.now();
    this.idle.push(conn);
  }

  closed(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.connections--;
    this.cluster.connections--;
    this.cluster.stats.upstream_cx_active--;
    this.cluster.stats.upstream_cx_destroy++;
    // A place freed up: the oldest waiting request gets a new connection.
    if (this.pending.length > 0 && this.cluster.connections < this.cluster.config.circuitBreakers.maxConnections) {
      const next = this.dequeue()!;
      this.open().attach(next.handler, next.isHead);
    }
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

  private dequeue(): Pending | undefined {
    const next = this.pending.shift();
    if (next !== undefined) {
      this.cluster.pendingRequests--;
      this.cluster.stats.upstream_rq_pending_active--;
    }
    return next;
  }

  private open(): UpstreamConnection {
    const cluster = this.cluster;
    this.connections++;
    cluster.connections++;
    cluster.stats.upstream_cx_total++;
    cluster.stats.upstream_cx_active++;
    return new UpstreamConnection(this, this.endpoint.address, this.endpoint.port, cluster.config.connectTimeoutMs);
  }
}
