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
import { originalDstTarget, resolveDestination } from '../router/original-dst-target.js';
import { connectUpstream, readyEvent } from '../tls/upstream-tls.js';
import type { WorkloadPeer } from '../observability/istio/workload-peer.js';
import { exchangePeerMetadata, localPreamble, negotiatedExchange, tlsPrincipals } from './peer-exchange.js';

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
  /** `host:port` the client asked for (a CONNECT authority): where an ORIGINAL_DST cluster connects. */
  destination?: string,
): void {
  const tried = new Set<UpstreamHost>();
  const s = cluster.stats;
  let resolved: string | undefined;
  const attempt = (): void => {
    if (gone()) return;
    let host: UpstreamHost | undefined;
    if (cluster.originalDst !== undefined) {
      const target = tried.size > 0 ? ({ kind: 'none' } as const) : originalDstTarget(cluster, undefined, destination ?? '', resolved);
      if (target.kind === 'resolve') {
        void resolveDestination(cluster, target.name).then((address) => {
          if (address === undefined) return void (gone() || onFailed('no_healthy_upstream'));
          resolved = address;
          attempt();
        });
        return;
      }
      host = target.kind === 'host' ? target.host : undefined;
    } else host = cluster.pick(tried);
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
  /** The peer's verified identity on an mTLS connection (a server's `source_principal`, `mutual_tls`). */
  readonly principal?: string;
  /** This proxy's own identity on that connection (the certificate it presented). */
  readonly localPrincipal?: string;
  /** The peer workload (a server's client, from the metadata exchange). */
  readonly peer?: WorkloadPeer;
  /** Downstream bytes that are not the stream's (the exchange's preambles). */
  readonly uncounted?: { readonly sent: number; readonly received: number };
}

/**
 * Relays `downstream` and a connected `upstream` of `cluster`, counted on its stats and Istio's
 * TCP metrics. An upstream whose TLS negotiated `istio-peer-exchange` first trades workload
 * metadata with the server (peer-exchange.ts; `local` is this proxy's own workload): the
 * server's workload is then the destination of the metrics; else the endpoint's metadata names
 * it. Over mTLS a client's certificates give the principals: the server's
 * (`destination_principal`) and its own (`source_principal`).
 */
export function relayTcp(
  downstream: net.Socket,
  upstream: net.Socket,
  cluster: Cluster,
  idleTimeoutMs: number,
  istio: TcpMetricsScope | undefined,
  initial?: Buffer | null,
  host?: UpstreamHost,
  local: IstioMetrics | undefined = istio?.metrics,
): void {
  const ids = istio !== undefined && istio.stats.reporter === 'source' ? tlsPrincipals(upstream) : undefined;
  const relay = (peer: WorkloadPeer | undefined, upstreamFirst: Buffer | undefined): void => {
    const s = istio === undefined || ids === undefined ? istio : { ...istio, principal: istio.principal ?? ids.peer, localPrincipal: istio.localPrincipal ?? ids.local };
    // A client falls back to the endpoint's metadata for its server (Istio's EDS `istio.workload`).
    const fallback = ids !== undefined ? host?.peer : undefined;
    const edge = s === undefined ? undefined : s.metrics.tcpEdge(s.stats, peer ?? s.peer ?? fallback ?? UNKNOWN_PEER, cluster.config, '', '-', s.principal, s.localPrincipal);
    // What the server sent after its preamble goes to the client first.
    if (upstreamFirst !== undefined && upstreamFirst.length > 0) downstream.write(upstreamFirst);
    proxyTcp(downstream, { socket: upstream, connectTimeoutMs: 0, stats: cluster.stats, istio: edge, idleTimeoutMs, ...(s?.uncounted !== undefined ? { uncounted: s.uncounted } : {}) }, initial ?? undefined);
  };
  if (local === undefined || !negotiatedExchange(upstream)) return relay(undefined, undefined);
  downstream.pause();
  exchangePeerMetadata(upstream, localPreamble(local, tlsPrincipals(upstream).local), (r) => {
    if (upstream.destroyed || downstream.destroyed) {
      upstream.destroy();
      downstream.destroy();
      return;
    }
    relay(r.peer, r.rest);
  });
}
