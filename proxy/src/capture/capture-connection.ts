/**
 * What a capture listener (`use_original_dst: true`) does with each accepted connection.
 *
 * OUTBOUND (15001), in Envoy's order of decisions:
 *   1. original destination from SO_ORIGINAL_DST; unknown (not redirected by iptables) ->
 *      from a loopback peer, the HCM routes it by Host (the listener then works as a plain
 *      HTTP proxy, as in local mode); from any other peer, closed (never an open proxy);
 *   2. a port the config marks TCP -> TCP through the service's cluster named for the original
 *      destination (`tcp_clusters`: its endpoints and TLS, auto mTLS to sidecars); else a
 *      listener of the original destination with `bind_to_port: false` (tcp/virtual-listener.ts:
 *      its filter chains, SNI, ...) takes it; else to the original destination (PassthroughCluster);
 *   3. otherwise sniff: neither HTTP/1.x nor the HTTP/2 preface -> TCP to the original destination;
 *   4. HTTP: a virtual host for the Host header, else for the original destination
 *      (address:port, then address) -> the HCM; no virtual host -> PassthroughCluster.
 * INBOUND (15006): every connection, HTTP or TCP, to its ORIGINAL destination (the pod's
 * address and port, as Istio since 1.10) from 127.0.0.6, counted on `inbound|PORT||`; so an
 * app bound to 127.0.0.1 only stays private. A connection for one of the proxy's own ports
 * (admin, capture, health, prometheus) is closed: those are never reachable from outside.
 */
import type net from 'node:net';
import { selectVirtualHost } from '@minimesh/config';
import type { ListenerRt } from '@minimesh/config/runtime';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, PORTS } from '@minimesh/mesh';
import type { HcmContext } from '../http/hcm-context.js';
import type { StatsRegistry } from '../observability/stats.js';
import { getOriginalDst, type OriginalDst } from './original-dst.js';
import { headEnd, hostHeader, sniffProtocol } from './sniff.js';
import { proxyTcp } from './tcp-proxy.js';
import { connectToCluster, relayTcp } from '../tcp/tcp-cluster-connect.js';
import { INBOUND_PASSTHROUGH_SOURCE } from '@minimesh/mesh';
import type { ClusterRt } from '@minimesh/config';
import type { TcpEdge } from '../observability/istio/istio-metrics.js';
import { UNKNOWN_PEER } from '../observability/istio/workload-peer.js';
import type { VirtualListenerLookup } from '../tcp/virtual-listener.js';

/** What the capture code needs from its listener. */
export interface CaptureHost {
  readonly config: ListenerRt;
  readonly ctx: HcmContext;
  readonly stats: StatsRegistry | undefined;
  /**
   * Hands the socket (with any sniffed bytes put back) to the HTTP connection manager; with
   * the original destination (`address:port`), which routes a Host it does not know.
   */
  adoptHttp(socket: net.Socket, originalDst?: string): void;
  /** Tracks a TCP-proxied socket for drain and close. */
  trackTcp(socket: net.Socket): void;
  /** The `bind_to_port: false` listener of an original destination (Istio's `0.0.0.0_443` SNI chains). */
  readonly virtualListener?: VirtualListenerLookup;
}

/** How long a client may stay silent before an unnamed port is taken as TCP (server-first protocols). */
export const SNIFF_TIMEOUT_MS = 500;
const MAX_HEAD_BYTES = 64 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The source Istio's inbound side uses toward the app, so iptables never re-captures it. */
export { INBOUND_PASSTHROUGH_SOURCE };

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The proxy's own ports: an inbound connection for one of them is never handed to it. */
export const PROXY_OWN_PORTS: ReadonlySet<number> = new Set([PORTS.admin, PORTS.outboundCapture, PORTS.inboundCapture, PORTS.health, PORTS.prometheus]);

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\./.test(a);
}

export function handleCaptured(socket: net.Socket, host: CaptureHost): void {
  handleCapturedTo(socket, host, getOriginalDst(socket));
}

/** handleCaptured() once the original destination is known (undefined: not redirected). */
export function handleCapturedTo(socket: net.Socket, host: CaptureHost, dst: OriginalDst | undefined): void {
  const capture = host.config.capture!;
  if (dst === undefined) {
    // Local mode (an app pointed at the listener as its HTTP proxy) is for loopback peers only.
    if (isLoopback(socket.remoteAddress)) return host.adoptHttp(socket);
    socket.destroy();
    return;
  }
  if (capture.direction === 'INBOUND') {
    // A port the config routes as HTTP (`*:PORT`) is sniffed; anything else is TCP at once
    // (a server-first protocol must not wait for the client's first bytes).
    if (!PROXY_OWN_PORTS.has(dst.port) && dst.port !== host.config.port && inboundHttpPort(host, dst)) return sniff(socket, host, dst, (initial) => inbound(socket, host, dst, initial));
    return inbound(socket, host, dst);
  }
  // A service's address (its cluster IP) first, as Envoy matches a destination IP before SNI.
  if (capture.tcpPorts.has(dst.port) && viaCluster(socket, host, dst)) return;
  // A listener of the original destination's port (bind_to_port: false) takes it, as Envoy's use_original_dst hands it over.
  const virtual = host.virtualListener?.(dst.address, dst.port);
  if (virtual !== undefined) return virtual.handoff(socket, dst);
  if (capture.tcpPorts.has(dst.port)) return passthrough(socket, host, dst);
  sniff(socket, host, dst, (initial) => passthrough(socket, host, dst, initial));
}

/** The inbound route config has a virtual host for this port (`*:PORT`), not only the catch-all. */
function inboundHttpPort(host: CaptureHost, dst: OriginalDst): boolean {
  const vh = selectVirtualHost(host.ctx.hcm.routeConfig, `${dst.address}:${dst.port}`);
  return vh !== undefined && !vh.domains.includes('*');
}

function inbound(socket: net.Socket, host: CaptureHost, dst: OriginalDst, initial?: Buffer): void {
  if (PROXY_OWN_PORTS.has(dst.port) || dst.port === host.config.port) {
    socket.destroy();
    return;
  }
  host.trackTcp(socket);
  proxyTcp(socket, {
    host: dst.address,
    port: dst.port,
    localAddress: INBOUND_PASSTHROUGH_SOURCE,
    connectTimeoutMs: host.ctx.clusters.get(inboundClusterName(dst.port))?.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    stats: host.stats?.cluster(inboundClusterName(dst.port)),
    istio: tcpEdge(host, host.ctx.clusters.get(inboundClusterName(dst.port))?.config),
  }, initial);
}

/** One of `clusters` by weight (`rand` in [0, 1)). */
export function pickByWeight(clusters: readonly { readonly name: string; readonly weight: number }[], rand: number): string {
  const total = clusters.reduce((n, c) => n + c.weight, 0);
  let at = rand * total;
  for (const c of clusters) {
    if (at < c.weight) return c.name;
    at -= c.weight;
  }
  return clusters[clusters.length - 1]!.name;
}

/** TCP through the service cluster the config names for `dst` (or one of its weighted clusters); false when it names none. */
function viaCluster(socket: net.Socket, host: CaptureHost, dst: OriginalDst): boolean {
  const key = `${dst.address}:${dst.port}`;
  const weighted = host.config.capture?.tcpWeightedClusters?.get(key);
  const name = host.config.capture?.tcpClusters?.get(key) ?? (weighted === undefined ? undefined : pickByWeight(weighted, Math.random()));
  const cluster = name === undefined ? undefined : host.ctx.clusters.get(name);
  if (cluster === undefined) return false;
  host.trackTcp(socket);
  socket.pause();
  const istio = host.ctx.istioStats;
  connectToCluster(cluster, 1, () => socket.destroyed, (upstream) => relayTcp(socket, upstream, cluster, 0, istio), () => socket.destroy());
  return true;
}

function passthrough(socket: net.Socket, host: CaptureHost, dst: OriginalDst, initial?: Buffer): void {
  if (host.config.capture?.registryOnly === true) {
    // REGISTRY_ONLY: Istio's BlackHoleCluster, which has no endpoints: the connection is closed.
    const stats = host.ctx.clusters.get(BLACKHOLE_CLUSTER)?.stats ?? host.stats?.cluster(BLACKHOLE_CLUSTER);
    if (stats !== undefined) stats.upstream_cx_none_healthy++;
    socket.destroy();
    return;
  }
  host.trackTcp(socket);
  const cluster = host.ctx.clusters.get(PASSTHROUGH_CLUSTER);
  proxyTcp(
    socket,
    { host: dst.address, port: dst.port, connectTimeoutMs: cluster?.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, stats: cluster?.stats ?? host.stats?.cluster(PASSTHROUGH_CLUSTER), istio: tcpEdge(host, cluster?.config) },
    initial,
  );
}

/**
 * The Istio TCP metrics edge of a captured connection. Without mTLS there is no TCP metadata
 * exchange: the peer is unknown (Istio's `peer_not_found`); the service is the cluster's.
 */
function tcpEdge(host: CaptureHost, cluster: ClusterRt | undefined): TcpEdge | undefined {
  const scope = host.ctx.istioStats;
  // TCP has no Host: a cluster without istio.services reports `unknown` (and PassthroughCluster's name).
  return scope === undefined ? undefined : scope.metrics.tcpEdge(scope.stats, UNKNOWN_PEER, cluster, '', '-');
}

/** Whether the route config knows this request: by Host, then by original destination. */
function knownDestination(host: CaptureHost, authority: string, dst: OriginalDst): boolean {
  const rc = host.ctx.hcm.routeConfig;
  return (authority !== '' && selectVirtualHost(rc, authority) !== undefined) || selectVirtualHost(rc, `${dst.address}:${dst.port}`) !== undefined;
}

/** Reads the first bytes: HTTP/1.x goes to the connection manager, anything else to `toTcp`. */
function sniff(socket: net.Socket, host: CaptureHost, dst: OriginalDst, toTcp: (initial: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  const finish = (to: 'http' | 'tcp'): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    if (to === 'http') {
      if (buf.length > 0) socket.unshift(buf);
      host.adoptHttp(socket, `${dst.address}:${dst.port}`);
      socket.resume(); // pause() above was explicit: a new 'data' listener does not undo it

    } else toTcp(buf);
  };
  const onData = (d: Buffer): void => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const p = sniffProtocol(buf);
    if (p === 'tcp') return finish('tcp');
    if (p === 'more') return;
    // HTTP/2 carries no Host before its HEADERS frame: the original destination decides.
    if (p === 'h2') return finish(knownDestination(host, '', dst) ? 'http' : 'tcp');
    const end = headEnd(buf);
    if (end === -1 && buf.length < MAX_HEAD_BYTES) return;
    finish(end !== -1 && knownDestination(host, hostHeader(buf.subarray(0, end)), dst) ? 'http' : end === -1 ? 'http' : 'tcp');
  };
  const onEnd = (): void => finish('tcp');
  /** The client reset or went away while we were still sniffing: nothing to proxy. */
  const onGone = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.destroy();
  };
  const timer = setTimeout(() => finish('tcp'), SNIFF_TIMEOUT_MS);
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onGone);
  socket.on('error', onGone);
}
