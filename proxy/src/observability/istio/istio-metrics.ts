/**
 * Istio's standard metrics as one proxy records them. The hot path does no string work: a
 * scope per connection manager caches, per (peer, destination cluster), the edge whose labels
 * were rendered once; a request then bumps a counter and three histograms of the outcome
 * (response code, flags) it ended with. Series live in the registry, so they outlive config
 * swaps; rendering (a scrape) applies the Telemetry overrides of the scope that last wrote them.
 */
import type { ClusterRt, IstioStatsRt } from '@minimesh/config';
import { Histogram } from './histogram.js';
import { edgeLabels, securityPolicy, serviceLabels, type LabelPairs } from './edge-labels.js';
import { evaluate, type RequestAttributes } from './attributes.js';
import { PeerCache, UNKNOWN_PEER, encodePeerHeader, type WorkloadPeer } from './workload-peer.js';
import { renderIstioMetrics } from './render-istio-metrics.js';
import type { GrpcStreamInfo } from '../../grpc/grpc-stream-info.js';

/** One (response code, grpc status, flags[, added tags]) of an edge. */
export class RequestOutcome {
  count = 0;
  /** gRPC messages each way (gRPC edges only). */
  requestMessages = 0;
  responseMessages = 0;
  readonly duration = new Histogram();
  readonly requestBytes = new Histogram();
  readonly responseBytes = new Histogram();
  constructor(
    readonly code: number,
    /** `grpc_response_status`: the numeric status, '' for none (not gRPC, or no status seen). */
    readonly grpcStatus: string,
    readonly flags: string,
    /** Values of `dimTags`, per request (Telemetry tag overrides). */
    readonly dims: readonly string[],
    readonly dimTags: readonly string[],
  ) {}
}

/** The request series of one edge: labels up to `request_protocol`, then its outcomes. */
export class HttpEdge {
  readonly outcomes = new Map<number | string, RequestOutcome>();
  constructor(
    readonly labels: LabelPairs,
    /** `request_protocol="grpc"`: the message counters are rendered too. */
    readonly grpc: boolean,
    readonly securityPolicy: string,
    /** The overrides in force where this edge was last recorded. */
    public stats: IstioStatsRt,
  ) {}
}

/** The TCP series of one edge (bytes and connections). */
export class TcpEdge {
  opened = 0;
  closed = 0;
  sentBytes = 0;
  receivedBytes = 0;
  /** Connections still open: their bytes so far are added at each scrape. */
  readonly live = new Set<TcpConnectionMetrics>();
  constructor(
    readonly labels: LabelPairs,
    readonly flags: string,
    readonly securityPolicy: string,
    public stats: IstioStatsRt,
  ) {}
}

/** One TCP connection's byte counters, as its edge last counted them. */
export interface TcpConnectionMetrics {
  /** Bytes sent to and received from the downstream so far. */
  bytes(): { sent: number; received: number };
  reportedSent: number;
  reportedReceived: number;
}

export class IstioMetrics {
  /** The proxy's own workload (from its node metadata, at each config). */
  local: WorkloadPeer = UNKNOWN_PEER;
  /** `x-envoy-peer-metadata` and `-id` this proxy sends. */
  localHeader = encodePeerHeader(UNKNOWN_PEER);
  localId = '';
  /** Both headers' values (metadata, id), ready to add to a head; undefined until the node is known. */
  peerHeaders: readonly [string, string] | undefined = undefined;
  readonly peers = new PeerCache();
  readonly httpEdges = new Map<string, HttpEdge>();
  readonly tcpEdges = new Map<string, TcpEdge>();
  /** A config turned `istio.stats` on at least once (a plain Envoy config never does: no istio_* metric). */
  enabled = false;

  constructor(readonly buildTag: string) {}

  setLocal(peer: WorkloadPeer, nodeId: string): void {
    this.local = peer;
    this.localHeader = encodePeerHeader(peer);
    this.localId = nodeId;
    this.peerHeaders = [this.localHeader, nodeId];
  }

  /** The scope a connection manager records through (one per config). */
  httpScope(stats: IstioStatsRt): HttpMetricsScope {
    this.enabled = true;
    return new HttpMetricsScope(this, stats, this.local);
  }

  /**
   * A TCP edge; created on first use. `principal`: the peer's verified identity (mTLS);
   * `localPrincipal`: this proxy's own, as the certificate it presented on that connection says.
   */
  tcpEdge(stats: IstioStatsRt, peer: WorkloadPeer, cluster: ClusterRt | undefined, authority: string, flags: string, principal?: string, localPrincipal?: string): TcpEdge {
    // A chain of a multi-chain listener records here without its listener having said so.
    this.enabled = true;
    let labels = edgeLabels(stats.reporter, this.local, peer, serviceLabels(cluster, authority, !stats.disableHostHeaderFallback), 'tcp', principal, localPrincipal);
    const mutualTls = stats.reporter === 'destination' && principal !== undefined;
    let key = `${JSON.stringify(labels)}|${flags}|${mutualTls ? 'mtls' : ''}`;
    if (!this.tcpEdges.has(key) && this.tcpEdges.size >= MAX_EDGES) {
      labels = edgeLabels(stats.reporter, this.local, UNKNOWN_PEER, serviceLabels(undefined, '', false), 'tcp');
      key = `${JSON.stringify(labels)}|${flags}|${mutualTls ? 'mtls' : ''}`;
    }
    let e = this.tcpEdges.get(key);
    if (e === undefined) this.tcpEdges.set(key, (e = new TcpEdge(labels, flags, securityPolicy(stats.reporter, mutualTls), stats)));
    e.stats = stats;
    return e;
  }

  /** Istio's metrics in Prometheus's text format. */
  render(): string {
    return this.enabled ? renderIstioMetrics(this) : '';
  }
}

/** Edges a scope remembers (peers times destinations) before it starts afresh. */
const MAX_CACHED_EDGES = 4096;
/**
 * Series a proxy keeps per family: past this, new label sets (peers or Hosts a client invents)
 * are counted on an edge whose peer and service are `unknown`, so memory stays bounded.
 */
export const MAX_EDGES = 10_000;

/** What one connection manager records through: edges cached by peer and destination. */
export class HttpMetricsScope {
  /**
   * peer -> cluster -> edge; for a cluster that names no service (the Host header does), a
   * further map by Host. No key is built per request: each level is a Map lookup.
   */
  private readonly cache = new Map<WorkloadPeer, Map<ClusterRt | undefined, HttpEdge | Map<string, HttpEdge>>>();
  /** The same for gRPC requests (`request_protocol="grpc"`). */
  private readonly grpcCache = new Map<WorkloadPeer, Map<ClusterRt | undefined, HttpEdge | Map<string, HttpEdge>>>();
  /** The same per peer principal (mTLS), `grpc|principal` -> cache. */
  private readonly principalCaches = new Map<string, Map<WorkloadPeer, Map<ClusterRt | undefined, HttpEdge | Map<string, HttpEdge>>>>();
  private cached = 0;

  constructor(
    readonly metrics: IstioMetrics,
    readonly stats: IstioStatsRt,
    readonly local: WorkloadPeer,
  ) {}

  /** The edge toward `peer` through `cluster` (and the Host header when the cluster names no service). */
  edge(peer: WorkloadPeer, cluster: ClusterRt | undefined, authority: string, grpc = false, principal?: string, localPrincipal?: string): HttpEdge {
    const entry = this.cacheFor(grpc, principal, localPrincipal).get(peer)?.get(cluster);
    if (entry instanceof HttpEdge) return entry;
    return entry?.get(authority) ?? this.newEdge(peer, cluster, authority, grpc, principal, localPrincipal);
  }

  /**
   * `principal`: on a server the client's verified identity (mTLS: `source_principal`,
   * `connection_security_policy="mutual_tls"`), on a client the server's (`destination_principal`).
   */
  private cacheFor(grpc: boolean, principal: string | undefined, localPrincipal: string | undefined): Map<WorkloadPeer, Map<ClusterRt | undefined, HttpEdge | Map<string, HttpEdge>>> {
    if (principal === undefined && localPrincipal === undefined) return grpc ? this.grpcCache : this.cache;
    const k = `${grpc ? 1 : 0}|${principal ?? ''}|${localPrincipal ?? ''}`;
    let c = this.principalCaches.get(k);
    if (c === undefined) this.principalCaches.set(k, (c = new Map()));
    return c;
  }

  /** Bounded: a client inventing peers or hosts cannot grow the cache or the series for ever. */
  private newEdge(peer: WorkloadPeer, cluster: ClusterRt | undefined, authority: string, grpc: boolean, principal: string | undefined, localPrincipal: string | undefined): HttpEdge {
    if (++this.cached > MAX_CACHED_EDGES) {
      this.cache.clear();
      this.grpcCache.clear();
      this.principalCaches.clear();
      this.cached = 1;
    }
    const cache = this.cacheFor(grpc, principal, localPrincipal);
    let byCluster = cache.get(peer);
    if (byCluster === undefined) cache.set(peer, (byCluster = new Map()));
    const stats = this.stats;
    const edges = this.metrics.httpEdges;
    const protocol = grpc ? 'grpc' : 'http';
    let labels = edgeLabels(stats.reporter, this.local, peer, serviceLabels(cluster, authority, !stats.disableHostHeaderFallback), protocol, principal, localPrincipal);
    const mutualTls = stats.reporter === 'destination' && principal !== undefined;
    let id = `${JSON.stringify(labels)}|${mutualTls ? 'mtls' : ''}`;
    if (!edges.has(id) && edges.size >= MAX_EDGES) {
      labels = edgeLabels(stats.reporter, this.local, UNKNOWN_PEER, serviceLabels(undefined, '', false), protocol);
      id = `${JSON.stringify(labels)}|${mutualTls ? 'mtls' : ''}`;
    }
    let e = edges.get(id);
    if (e === undefined) edges.set(id, (e = new HttpEdge(labels, grpc, securityPolicy(stats.reporter, mutualTls), stats)));
    e.stats = stats;
    if (cluster?.istioServices !== undefined && cluster.istioServices.length > 0) byCluster.set(cluster, e);
    else {
      let byHost = byCluster.get(cluster);
      if (!(byHost instanceof Map)) byCluster.set(cluster, (byHost = new Map()));
      byHost.set(authority, e);
    }
    return e;
  }

  /** One finished request. `attrs` is read only when a Telemetry override adds a tag. */
  record(
    edge: HttpEdge,
    code: number,
    flagBits: number,
    flags: string,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
    attrs: RequestAttributes,
    grpc: GrpcStreamInfo | null = null,
  ): void {
    const tags = this.stats.dimensionTags;
    // The grpc status (-1 none, 0..99) is part of the outcome, as the response code is.
    const grpcStatus = grpc === null ? -1 : grpc.status;
    let key: number | string = (flagBits * 1000 + code) * 128 + grpcStatus + 1;
    let dims: string[] = [];
    if (tags.length > 0) {
      dims = this.stats.dimensionExprs.map((e) => evaluate(e, attrs));
      key = `${key}|${dims.join('\u0001')}`;
    }
    let o = edge.outcomes.get(key);
    if (o === undefined) edge.outcomes.set(key, (o = new RequestOutcome(code, grpcStatus < 0 ? '' : String(grpcStatus), flags, dims, tags)));
    o.count++;
    if (grpc !== null) {
      o.requestMessages += grpc.requestMessages.count;
      o.responseMessages += grpc.responseMessages.count;
    }
    o.duration.record(durationMs);
    o.requestBytes.record(requestBytes);
    o.responseBytes.record(responseBytes);
  }
}
