/**
 * Plain TCP proxying for captured connections: bytes both ways, half-close respected,
 * counted on the cluster's stats (`PassthroughCluster`, `inbound|PORT||`).
 */
import net from 'node:net';
import type { ClusterStats } from '../observability/stats.js';
import type { TcpConnectionMetrics, TcpEdge } from '../observability/istio/istio-metrics.js';

export interface TcpTarget {
  readonly host?: string;
  readonly port?: number;
  /** An upstream connection already made (allowHalfOpen), instead of host and port. */
  readonly socket?: net.Socket;
  /** No bytes either way for this long closes both sides (0 or absent: none). */
  readonly idleTimeoutMs?: number;
  /** Source address of the upstream connection (127.0.0.6 for inbound, as Istio). */
  readonly localAddress?: string;
  readonly connectTimeoutMs: number;
  readonly stats: ClusterStats | undefined;
  /** Istio's TCP metrics edge this connection counts on (its listener has `istio.stats`). */
  readonly istio?: TcpEdge;
  /** Downstream bytes already moved that are not the stream's (the metadata exchange's preambles): not counted. */
  readonly uncounted?: { readonly sent: number; readonly received: number };
}

/** How long a side that finished cleanly may take to flush what the other side sent last. */
const FLUSH_GRACE_MS = 1000;

/**
 * Connects to `target` and pipes `downstream` to it, after writing `initial` (sniffed bytes).
 * Half-close is carried both ways (both sockets must be allowHalfOpen): a FIN from one side
 * ends the other side's write direction only; each socket closes itself once both of its
 * directions are done (Node's autoDestroy). An error or reset on either side destroys both.
 * Returns undefined when the downstream is already gone (nothing is dialled then).
 */
export function proxyTcp(downstream: net.Socket, target: TcpTarget, initial?: Buffer): net.Socket | undefined {
  if (downstream.destroyed) return undefined;
  downstream.allowHalfOpen = true;
  const s = target.stats;
  if (s) {
    s.upstream_cx_total++;
    s.upstream_cx_active++;
  }
  const upstream = target.socket ?? net.connect({ host: target.host ?? '', port: target.port ?? 0, allowHalfOpen: true, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  upstream.setNoDelay(true);
  let connected = target.socket !== undefined;
  const timer = connected
    ? undefined
    : setTimeout(() => {
        if (s) s.upstream_cx_connect_timeout++;
        upstream.destroy();
      }, target.connectTimeoutMs);
  if (!connected) {
    upstream.once('connect', () => {
      connected = true;
      clearTimeout(timer);
    });
  }
  const idle = target.idleTimeoutMs ?? 0;
  if (idle > 0) {
    // Envoy's idle_timeout: neither side moved a byte for that long.
    let last = Date.now();
    const touch = (): void => {
      last = Date.now();
    };
    downstream.on('data', touch);
    upstream.on('data', touch);
    const check = (): void => {
      if (downstream.destroyed && upstream.destroyed) return;
      const left = idle - (Date.now() - last);
      if (left <= 0) destroyBoth();
      else setTimeout(check, left).unref();
    };
    setTimeout(check, idle).unref();
  }
  if (initial && initial.length > 0) upstream.write(initial);
  // pipe() ends the destination when the source ends: that is the half-close carried over.
  downstream.pipe(upstream);
  upstream.pipe(downstream);
  downstream.resume();
  const edge = target.istio;
  let counted: TcpConnectionMetrics | undefined;
  if (edge !== undefined) {
    // Sent and received as the downstream sees them, reported at each scrape and at close.
    counted = { bytes: () => ({ sent: downstream.bytesWritten, received: downstream.bytesRead }), reportedSent: target.uncounted?.sent ?? 0, reportedReceived: target.uncounted?.received ?? 0 };
    edge.opened++;
    edge.live.add(counted);
  }
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    if (edge !== undefined && counted !== undefined) {
      const b = counted.bytes();
      edge.sentBytes += b.sent - counted.reportedSent;
      edge.receivedBytes += b.received - counted.reportedReceived;
      edge.live.delete(counted);
      edge.closed++;
    }
    if (s) {
      s.upstream_cx_active--;
      s.upstream_cx_destroy++;
    }
  };
  const destroyBoth = (): void => {
    upstream.destroy();
    downstream.destroy();
  };
  /** Both directions of `a` completed normally (it read a FIN and its FIN was sent). */
  const clean = (a: net.Socket): boolean => a.readableEnded && a.writableFinished;
  /** `a` closed: the other side follows at once, unless `a` closed cleanly (then it is flushing). */
  const follow = (a: net.Socket, other: net.Socket): void => {
    if (other.destroyed) return;
    if (!clean(a)) other.destroy();
    else setTimeout(() => other.destroy(), FLUSH_GRACE_MS).unref();
  };
  upstream.on('error', () => {
    if (!connected && s) s.upstream_cx_connect_fail++;
    destroyBoth();
  });
  downstream.on('error', destroyBoth);
  upstream.on('close', () => {
    close();
    follow(upstream, downstream);
  });
  downstream.on('close', () => follow(downstream, upstream));
  return upstream;
}
