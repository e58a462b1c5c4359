/**
 * The hosts of an ORIGINAL_DST cluster (Envoy's original destination cluster, what Istio
 * gives a ServiceEntry with `resolution: NONE`): no endpoints are configured; each request
 * goes to where its client meant it to go, and a host is made for that address on demand.
 * Hosts without connections or requests are dropped at the sweep (Envoy's cleanup_interval).
 *
 * Where the client meant to go: a captured connection's SO_ORIGINAL_DST; without capture (the
 * forward proxy) the request's authority (`host:port`, or the absolute URI's), as the client
 * would have dialled it, a name resolved as the client's resolver would.
 */
import { isIP } from 'node:net';
import type { EndpointRt } from '@minimesh/config/runtime';
import type { Cluster } from './cluster.js';
import { UpstreamHost } from './upstream-host.js';

export interface Destination {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, `[v6]:port` or `host` (with `defaultPort`) -> its parts; undefined when malformed. */
export function parseDestination(authority: string, defaultPort: number): Destination | undefined {
  let host = authority;
  let port = defaultPort;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(authority) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(authority);
  if (m === null) return isIP(authority) === 6 ? { host: authority, port } : undefined;
  host = m[1];
  if (m[2] !== undefined) port = Number(m[2]);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

export class OriginalDstHosts {
  private readonly hosts = new Map<string, UpstreamHost>();
  /** Each host's request count at the last sweep. */
  private readonly seen = new Map<UpstreamHost, number>();

  constructor(private readonly cluster: Cluster) {}

  /** The host for an IP address and port (made on first use). */
  get(address: string, port: number): UpstreamHost {
    const key = `${address}:${port}`;
    let h = this.hosts.get(key);
    if (h === undefined) {
      const endpoint: EndpointRt = { address, port, weight: 1, hostname: '', healthy: true, workload: '' };
      this.hosts.set(key, (h = new UpstreamHost(this.cluster, endpoint)));
    }
    return h;
  }

  all(): IterableIterator<UpstreamHost> {
    return this.hosts.values();
  }

  /**
   * Closes connections idle past `idleTimeoutMs` (0: none); a host no request used since the
   * last sweep closes its idle connections and is forgotten once it has none.
   */
  sweep(now: number, idleTimeoutMs: number): void {
    for (const [key, h] of this.hosts) {
      const unused = h.activeRequests === 0 && this.seen.get(h) === h.rqTotal;
      this.seen.set(h, h.rqTotal);
      if (unused || idleTimeoutMs > 0) for (const p of h.pools()) p.closeIdle(now, unused ? 0 : idleTimeoutMs);
      if (unused && h.connections === 0) {
        this.hosts.delete(key);
        this.seen.delete(h);
      }
    }
  }
}
