/**
 * One endpoint of a cluster: what the balancer weighs, what /clusters counts, and the
 * pools its requests get their upstream streams from: HTTP/1.1 connections, HTTP/2 sessions
 * (made at the first request that needs one), chosen per request by the cluster's protocol.
 */
import type { EndpointRt } from '@minimesh/config/runtime';
import type { PriorityHost } from './lb/priority-set.js';
import type { SlowStartHost } from './lb/slow-start.js';
import { localityKey } from '@minimesh/config/locality-runtime';
import type { HttpProtocol } from '../http/codec/headers.js';
import type { ConnectionPool } from './upstream-codec.js';
import type { Cluster } from './cluster.js';
import { Http1Pool } from './h1/h1-pool.js';
import { upstreamTlsFor } from '@minimesh/config';
import type { UpstreamTlsTarget } from '../tls/upstream-tls.js';
import { H2ConnectionPool } from './h2/h2-connection-pool.js';
import { peerFromEndpointMetadata, type WorkloadPeer } from '../observability/istio/workload-peer.js';

export class UpstreamHost implements PriorityHost, SlowStartHost {
  readonly key: string;
  readonly weight: number;
  readonly priority: number;
  readonly localityKey: string;
  readonly localityWeight: number;
  /** When the host joined the cluster (a replacing cluster keeps the old host's time): slow start. */
  addedAt = Date.now();
  /** The workload behind this endpoint (endpoint metadata `istio.workload`), for Istio's metrics. */
  readonly peer: WorkloadPeer | undefined;
  activeRequests = 0;
  /** Requests sent to this host, and those answered with 5xx or failed (for /clusters). */
  rqTotal = 0;
  rqError = 0;
  /** HTTP/1.1 connections to this host. */
  readonly h1: Http1Pool;
  /** TLS to this endpoint: the cluster's transport socket, or the transport_socket_matches entry its metadata selects. */
  readonly tls: UpstreamTlsTarget | undefined;
  private h2Pool: H2ConnectionPool | undefined;

  constructor(
    readonly cluster: Cluster,
    readonly endpoint: EndpointRt,
  ) {
    this.key = `${endpoint.address}:${endpoint.port}`;
    this.weight = endpoint.weight;
    this.priority = endpoint.priority ?? 0;
    this.localityKey = localityKey(endpoint.locality);
    this.localityWeight = endpoint.localityWeight ?? 0;
    this.peer = peerFromEndpointMetadata(endpoint.workload ?? '');
    const tls = cluster.secrets === undefined ? undefined : upstreamTlsFor(cluster.config.tls, endpoint.socketMatch);
    this.tls = tls === undefined ? undefined : { tls, secrets: cluster.secrets!, stats: cluster.stats };
    this.h1 = new Http1Pool(cluster, endpoint, this.tls);
  }

  /**
   * The pool for a request that came over `protocol`: HTTP/2 when the cluster asks for it
   * (`http2`), or forwards the client's protocol (`downstream`) and the client spoke HTTP/2;
   * HTTP/1.1 otherwise.
   */
  poolFor(protocol: HttpProtocol): ConnectionPool {
    const up = this.cluster.config.upstreamProtocol;
    if (up === 'http1' || (up === 'downstream' && protocol !== 'HTTP/2')) return this.h1;
    return (this.h2Pool ??= new H2ConnectionPool(this.cluster, this.endpoint, this.tls));
  }

  /** The HTTP/2 pool, if a request has needed one. */
  get h2(): H2ConnectionPool | undefined {
    return this.h2Pool;
  }

  /** Every pool this host has. */
  pools(): ConnectionPool[] {
    return this.h2Pool === undefined ? [this.h1] : [this.h1, this.h2Pool];
  }

  /** Open connections to this host (HTTP/2 sessions count one each). */
  get connections(): number {
    return this.h1.connections + (this.h2Pool?.connections ?? 0);
  }

  get idleCount(): number {
    return this.h1.idleCount + (this.h2Pool?.idleCount ?? 0);
  }
}
