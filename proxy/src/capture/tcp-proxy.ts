/**
 * Plain TCP proxying for captured connections: bytes both ways, half-close respected,
 * counted on the cluster's stats (`PassthroughCluster`, `inbound|PORT||`).
 */
import net from 'node:net';
import type { ClusterStats } from '../observability/stats.js';

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  /** Source address of the upstream connection (127.0.0.6 for inbound, as Istio). */
  readonly localAddress?: string;
  readonly connectTimeoutMs: number;
  readonly stats: ClusterStats | undefined;
}

/** Connects to `target` and pipes `downstream` to it, after writing `initial` (sniffed bytes). */
export function proxyTcp(downstream: net.Socket, target: TcpTarget, initial?: Buffer): net.Socket {
  const s = target.stats;
  if (s) {
    s.upstream_cx_total++;
    s.upstream_cx_active++;
  }
  const upstream = net.connect({ host: target.host, port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  upstream.setNoDelay(true);
  let connected = false;
  const timer = setTimeout(() => {
    if (s) s.upstream_cx_connect_timeout++;
    upstream.destroy();
  }, target.connectTimeoutMs);
  upstream.once('connect', () => {
    connected = true;
    clearTimeout(timer);
  });
  if (initial && initial.length > 0) upstream.write(initial);
  downstream.pipe(upstream);
  upstream.pipe(downstream);
  downstream.resume();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    if (s) {
      s.upstream_cx_active--;
      s.upstream_cx_destroy++;
    }
  };
  upstream.on('error', () => {
    if (!connected && s) s.upstream_cx_connect_fail++;
    downstream.destroy();
  });
  downstream.on('error', () => upstream.destroy());
  upstream.on('close', () => {
    close();
    downstream.destroy();
  });
  downstream.on('close', () => {
    if (!upstream.writableEnded) upstream.end();
    setTimeout(() => upstream.destroy(), 1000).unref();
  });
  return upstream;
}
