/**
 * A TCP connection to one host of a cluster (tcp_proxy listeners, and CONNECT terminated at
 * the router): the cluster's balancer picks the host, a failed connect tries another host up
 * to `maxAttempts`, and the caller relays the bytes with relayTcp().
 */
import type net from 'node:net';
import type { IstioStatsRt } from '@minimesh/config';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { UNKNOWN_PEER } from '../observability/istio/workload-peer.js';
import { proxyTcp } from '../capture/tcp-proxy.js';
import { connectUpstream, readyEvent } from '../tls/upstream-tls.js';

export type ClusterConnectFailure = 'no_healthy_upstream' | 'connect_failure';

/**
 * Connects to a host of `cluster`: `onConnected(upstream, host)` with the first one that
 * accepts, else `onFailed`. `gone()` is asked before each try (the client may have left).
 */
export function connectToCluster(
  cluster: Cluster,
  maxAttempts: number,
  gone: () => boolean,
  onConnected: (upstream: net.Socket, host: UpstreamHost) => void,
  onFailed: (reason: ClusterConnectFailure) => void,
): void {
  const tried = new Set<UpstreamHost>();
  const s = cluster.stats;
  const attempt = (): void => {
    if (gone()) return;
    const host = cluster.pick(tried);
    if (host === undefined) {
      if (tried.size === 0) s.upstream_cx_none_healthy++;
      onFailed(tried.size === 0 ? 'no_healthy_upstream' : 'connect_failure');
      return;
    }
    tried.add(host);
    const src = cluster.config.sourceAddress;
    const probe = connectUpstream(host.endpoint.address, host.endpoint.port, src || undefined, host.tls, true);
    const timer = setTimeout(() => {
      s.upstream_cx_connect_timeout++;
      probe.destroy(new Error('connect timeout'));
    }, cluster.config.connectTimeoutMs);
    probe.once('error', () => {
      clearTimeout(timer);
      s.upstream_cx_connect_fail++;
      cluster.outlier?.putLocalOrigin(host, 'connect-failed');
      if (tried.size < maxAttempts) attempt();
      else onFailed('connect_failure');
    });
    probe.once(readyEvent(host.tls), () => {
      clearTimeout(timer);
      probe.removeAllListeners('error');
      cluster.outlier?.putConnectSuccess(host, true);
      if (gone()) {
        probe.destroy();
        return;
      }
      onConnected(probe, host);
    });
  };
  attempt();
}

/** Istio's TCP metrics of a relay (its listener records `istio.stats`). */
export interface TcpMetricsScope {
  readonly metrics: IstioMetrics;
  readonly stats: IstioStatsRt;
  /** The client's verified identity on an mTLS chain (a server's `source_principal`, `mutual_tls`). */
  readonly principal?: string;
}

/** Relays `downstream` and a connected `upstream` of `cluster`, counted on its stats and Istio's TCP metrics. */
export function relayTcp(downstream: net.Socket, upstream: net.Socket, cluster: Cluster, idleTimeoutMs: number, istio: TcpMetricsScope | undefined, initial?: Buffer | null): void {
  const edge = istio === undefined ? undefined : istio.metrics.tcpEdge(istio.stats, UNKNOWN_PEER, cluster.config, '', '-', istio.principal);
  proxyTcp(downstream, { socket: upstream, connectTimeoutMs: 0, stats: cluster.stats, istio: edge, idleTimeoutMs }, initial ?? undefined);
}
