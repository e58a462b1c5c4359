/**
 * The HTTP/1.1 connection pool of one endpoint: idle keep-alive connections (most recently
 * used first, so few stay warm) and the count of open ones. A connection carries one
 * request at a time. Requests waiting for a connection when the cluster's
 * `max_connections` circuit breaker is reached queue on the cluster (the limit is the
 * cluster's, so any host's freed slot serves them).
 */
import type { UpstreamTlsTarget } from '../../tls/upstream-tls.js';
import type { ConnectionPool, UpstreamResponseDecoder } from '../upstream-codec.js';
import type { Cluster } from '../cluster.js';
import type { EndpointRt } from '@minimesh/config/runtime';
import { Http1UpstreamConnection, type ConnectionOwner } from './h1-connection.js';

/** A request waiting for a connection of `pool`. */
export interface PendingRequest {
  readonly pool: Http1Pool;
  readonly decoder: UpstreamResponseDecoder;
  readonly isHead: boolean;
}

export class Http1Pool implements ConnectionPool, ConnectionOwner {
  private readonly idle: Http1UpstreamConnection[] = [];
  connections = 0;

  constructor(
    readonly cluster: Cluster,
    readonly endpoint: EndpointRt,
    /** TLS to this endpoint (undefined = plaintext). */
    readonly tls?: UpstreamTlsTarget,
  ) {}

  get idleCount(): number {
    return this.idle.length;
  }

  /**
   * Gets a connection for `decoder`: an idle one at once, a new one (the decoder hears
   * `onPoolReady` when it connects), or a place in the queue when the cluster is at `max_connections`.
   */
  newStream(decoder: UpstreamResponseDecoder, isHead: boolean): 'ok' | 'overflow' {
    const idle = this.idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      // A connection the upstream is closing (FIN seen, 'close' not yet emitted) is not reused.
      if (!conn.closed && !conn.socket.readableEnded && !conn.socket.destroyed) {
        conn.attach(decoder, isHead);
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
      cluster.pending.push({ pool: this, decoder, isHead });
      // An idle connection to another host holds a slot this request could use.
      cluster.closeOneIdle();
      return 'ok';
    }
    this.open().attach(decoder, isHead);
    return 'ok';
  }

  cancel(decoder: UpstreamResponseDecoder): void {
    this.cluster.cancelPending(decoder);
  }

  release(conn: Http1UpstreamConnection): void {
    const cluster = this.cluster;
    const max = cluster.config.maxRequestsPerConnection;
    if (cluster.removed || (max > 0 && conn.requests >= max)) {
      conn.destroy();
      return;
    }
    const first = cluster.pending[0];
    if (first !== undefined) {
      if (first.pool === this) {
        cluster.pending.shift();
        cluster.stats.upstream_rq_pending_active--;
        conn.attach(first.decoder, first.isHead);
      } else {
        // The oldest waiting request wants another host: this slot goes to it (see closed()).
        conn.destroy();
      }
      return;
    }
    conn.idleSince = Date.now();
    this.idle.push(conn);
  }

  closed(conn: Http1UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.connections--;
    const cluster = this.cluster;
    cluster.connections--;
    cluster.stats.upstream_cx_active--;
    cluster.stats.upstream_cx_destroy++;
    cluster.servePending();
  }

  failedWhileConnecting(): void {
    this.cluster.stats.upstream_rq_pending_failure_eject++;
  }

  closeOneIdle(): boolean {
    const conn = this.idle.pop();
    if (conn === undefined) return false;
    conn.destroy();
    return true;
  }

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
  open(): Http1UpstreamConnection {
    const cluster = this.cluster;
    this.connections++;
    cluster.connections++;
    cluster.stats.upstream_cx_total++;
    cluster.stats.upstream_cx_http1_total++;
    cluster.stats.upstream_cx_active++;
    return new Http1UpstreamConnection(this, this.endpoint.address, this.endpoint.port, cluster.config.connectTimeoutMs, cluster.config.sourceAddress, this.tls);
  }
}
