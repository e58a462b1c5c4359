/**
 * One endpoint of a cluster: what the balancer weighs, what /clusters counts, and the
 * pool its requests get their upstream streams from (HTTP/1.1 connections today).
 */
import type { EndpointRt } from '@minimesh/config/runtime';
import type { LbHost } from './lb/load-balancer.js';
import type { ConnectionPool } from './upstream-codec.js';
import type { Cluster } from './cluster.js';
import { Http1Pool } from './h1/h1-pool.js';
import { peerFromEndpointMetadata, type WorkloadPeer } from '../observability/istio/workload-peer.js';

export class UpstreamHost implements LbHost {
  readonly key: string;
  readonly weight: number;
  /** The workload behind this endpoint (endpoint metadata `istio.workload`), for Istio's metrics. */
  readonly peer: WorkloadPeer | undefined;
  activeRequests = 0;
  /** Requests sent to this host, and those answered with 5xx or failed (for /clusters). */
  rqTotal = 0;
  rqError = 0;
  readonly pool: ConnectionPool;

  constructor(
    readonly cluster: Cluster,
    readonly endpoint: EndpointRt,
  ) {
    this.key = `${endpoint.address}:${endpoint.port}`;
    this.weight = endpoint.weight;
    this.peer = peerFromEndpointMetadata(endpoint.workload ?? '');
    this.pool = new Http1Pool(cluster, endpoint);
  }

  /** Open connections to this host. */
  get connections(): number {
    return this.pool.connections;
  }

  get idleCount(): number {
    return this.pool.idleCount;
  }
}
