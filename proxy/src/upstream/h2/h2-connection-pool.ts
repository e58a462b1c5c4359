/**
 * The HTTP/2 upstream of one host as the router sees it: a `ConnectionPool` over an
 * `H2UpstreamPool` (sessions to the host's endpoint, streams multiplexed on them). Each
 * request gets an `H2CodecStream` at once (onPoolReady): its head goes out when a session has
 * room, its body waits with backpressure until then (h2-stream.ts).
 *
 * Circuit breakers count requests, as Envoy's HTTP/2 pool does: `max_requests` is the
 * router's count of active requests; a request waiting for a stream (sessions connecting or
 * full) is pending, and counts against the cluster's `max_pending_requests` together with
 * the HTTP/1.1 requests waiting for a connection. `max_connections` bounds the sessions per
 * endpoint.
 */
import type { EndpointRt } from '@minimesh/config/runtime';
import type { Cluster } from '../cluster.js';
import type { ConnectionPool, UpstreamResponseDecoder } from '../upstream-codec.js';
import { H2UpstreamPool, h2PoolOptionsFromCluster } from './h2-pool.js';
import type { H2Endpoint, H2RequestHead, H2StreamHandlers, H2RequestOptions } from './h2-types.js';
import type { H2UpstreamStream } from './h2-stream.js';
import { H2CodecStream } from './h2-codec-stream.js';
import { connectUpstream, type UpstreamTlsTarget } from '../../tls/upstream-tls.js';

/** The pool's own per-endpoint queue limit: the cluster-wide limit is enforced here instead. */
const NO_POOL_QUEUE_LIMIT = 2 ** 31;

export class H2ConnectionPool implements ConnectionPool {
  readonly endpoint: H2Endpoint;
  private readonly pool: H2UpstreamPool;

  constructor(
    readonly cluster: Cluster,
    endpoint: EndpointRt,
    /** TLS to this endpoint (undefined = h2c with prior knowledge). */
    tls?: UpstreamTlsTarget,
  ) {
    this.endpoint = { address: endpoint.address, port: endpoint.port };
    const stats = cluster.stats;
    const src = cluster.config.sourceAddress;
    this.pool = new H2UpstreamPool({
      ...h2PoolOptionsFromCluster(cluster.config),
      ...(tls !== undefined ? { createConnection: (ep: H2Endpoint) => connectUpstream(ep.address, ep.port, src, tls, false, 'HTTP2') } : {}),
      maxPendingPerEndpoint: NO_POOL_QUEUE_LIMIT,
      // Sessions are the cluster's upstream connections (upstream_cx_*), as HTTP/1.1 connections are.
      onSessionOpened: () => {
        stats.upstream_cx_total++;
        stats.upstream_cx_http2_total++;
        stats.upstream_cx_active++;
      },
      onSessionClosed: () => {
        stats.upstream_cx_active--;
        stats.upstream_cx_destroy++;
      },
    });
  }

  /** Open sessions. */
  get connections(): number {
    return this.pool.stats().sessions;
  }

  /** Sessions ready and carrying no stream. */
  get idleCount(): number {
    let n = 0;
    for (const s of this.pool.sessions(this.endpoint)) if (s.state === 'ready' && s.activeStreams === 0) n++;
    return n;
  }

  /** Streams open now (tests, admin). */
  get activeStreams(): number {
    return this.pool.stats().activeStreams;
  }

  newStream(decoder: UpstreamResponseDecoder, _isHead: boolean): 'ok' | 'overflow' {
    decoder.onPoolReady(new H2CodecStream(this, decoder));
    return 'ok';
  }

  /** Every request has its stream from newStream on: nothing waits here. */
  cancel(_decoder: UpstreamResponseDecoder): void {}

  /** HTTP/2 sessions are not what HTTP/1.1 requests wait for: none is closed for them. */
  closeOneIdle(): boolean {
    return false;
  }

  /** Idle sessions close on their own timer (the cluster's idle timeout); a removed cluster's pool closes gracefully. */
  closeIdle(_now: number, idleTimeoutMs: number): void {
    if (idleTimeoutMs === 0 && this.cluster.removed) this.pool.close();
  }

  /** Sends a request on the pool (H2CodecStream's encodeHeaders). */
  request(head: H2RequestHead, handlers: H2StreamHandlers, opts: H2RequestOptions): H2UpstreamStream {
    return this.pool.request(this.endpoint, head, handlers, opts);
  }

  /**
   * A request is waiting for a stream: counted as pending, or false when the cluster's
   * `max_pending_requests` is reached (the caller fails it with overflow).
   */
  addPending(): boolean {
    const cluster = this.cluster;
    const stats = cluster.stats;
    if (cluster.pending.length + cluster.h2Pending >= cluster.config.circuitBreakers.maxPendingRequests) {
      return false;
    }
    cluster.h2Pending++;
    stats.upstream_rq_pending_total++;
    stats.upstream_rq_pending_active++;
    return true;
  }

  /** A pending request got its stream, failed or was given up. */
  removePending(): void {
    this.cluster.h2Pending--;
    this.cluster.stats.upstream_rq_pending_active--;
  }
}
