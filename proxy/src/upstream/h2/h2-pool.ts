/**
 * The HTTP/2 upstream pool of one cluster: sessions per endpoint (`address:port`), streams
 * multiplexed on them. See h2-types.ts for the interface and h2-endpoint-pool.ts for how
 * requests find a session.
 */
import type { ClusterRt } from '@minimesh/config/runtime';
import { toH2RequestHeaders } from './h2-headers.js';
import { H2EndpointPool } from './h2-endpoint-pool.js';
import type { ResolvedH2Options } from './h2-session.js';
import { H2UpstreamStream } from './h2-stream.js';
import { H2UpstreamError, type H2Endpoint, type H2PoolOptions, type H2RequestHead, type H2RequestOptions, type H2StreamHandlers } from './h2-types.js';

/** What the pool advertises and keeps when nobody says otherwise. */
export const H2_POOL_DEFAULTS: ResolvedH2Options = {
  maxConcurrentStreams: 2147483647,
  maxSessionsPerEndpoint: 1024,
  maxPendingPerEndpoint: 1024,
  maxRequestsPerSession: 0,
  connectTimeoutMs: 5000,
  idleTimeoutMs: 3_600_000,
  initialStreamWindowSize: 1024 * 1024,
  initialConnectionWindowSize: 16 * 1024 * 1024,
  headerTableSize: 4096,
};

/** A session's receive window never exceeds this, whatever the config says (Envoy's default is 256 MiB). */
export const MAX_CONNECTION_WINDOW = 16 * 1024 * 1024;

/**
 * Pool options from a cluster's runtime config: `max_concurrent_streams`, the window sizes
 * (the stream window capped at `per_connection_buffer_limit_bytes`, the connection window at
 * 16 MiB: node buffers whatever a window admits while nobody reads, so the windows are the
 * memory bound), `hpack_table_size`, the circuit breakers' max_connections and
 * max_pending_requests, max_requests_per_connection, the idle and connect timeouts, and
 * `upstream_bind_config`.
 */
export function h2PoolOptionsFromCluster(c: ClusterRt): H2PoolOptions {
  const h2 = c.upstreamHttp2;
  const limit = Math.max(65535, c.perConnectionBufferLimitBytes);
  return {
    maxConcurrentStreams: h2?.maxConcurrentStreams ?? H2_POOL_DEFAULTS.maxConcurrentStreams,
    maxSessionsPerEndpoint: c.circuitBreakers.maxConnections,
    maxPendingPerEndpoint: c.circuitBreakers.maxPendingRequests,
    maxRequestsPerSession: c.maxRequestsPerConnection,
    connectTimeoutMs: c.connectTimeoutMs,
    idleTimeoutMs: c.upstreamIdleTimeoutMs,
    initialStreamWindowSize: Math.min(h2?.initialStreamWindowSize ?? limit, limit),
    initialConnectionWindowSize: Math.min(h2?.initialConnectionWindowSize ?? MAX_CONNECTION_WINDOW, MAX_CONNECTION_WINDOW),
    headerTableSize: h2?.hpackTableSize ?? H2_POOL_DEFAULTS.headerTableSize,
    ...(c.sourceAddress ? { localAddress: c.sourceAddress } : {}),
  };
}

export interface H2PoolStats {
  readonly endpoints: number;
  readonly sessions: number;
  readonly activeStreams: number;
  readonly pending: number;
}

/** What a session looks like from outside (tests, admin). */
export interface H2SessionInfo {
  readonly id: number;
  readonly state: string;
  readonly activeStreams: number;
  readonly streamsOpened: number;
  readonly remoteMaxConcurrentStreams: number;
}

export class H2UpstreamPool {
  private readonly endpoints = new Map<string, H2EndpointPool>();
  private readonly o: ResolvedH2Options;
  private sessionIds = 0;
  private closed = false;

  constructor(options: H2PoolOptions = {}) {
    const set = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as H2PoolOptions;
    this.o = { ...H2_POOL_DEFAULTS, ...set };
  }

  /**
   * Sends a request to `endpoint` on a pooled session. Headers are made HTTP/2-clean here
   * (h2-headers.ts). The returned stream takes the body (`write`, `end`) and flow control
   * (`pause`, `resume`); the handlers hear the response or the failure, never synchronously.
   */
  request(endpoint: H2Endpoint, head: H2RequestHead, handlers: H2StreamHandlers, opts: H2RequestOptions = {}): H2UpstreamStream {
    let headers;
    try {
      headers = toH2RequestHeaders(head);
    } catch (e) {
      const st = new H2UpstreamStream(endpoint, {}, handlers, true, { unqueue: () => undefined });
      st.fail(new H2UpstreamError('protocol-error', `the request cannot be sent over HTTP/2: ${(e as Error).message}`, undefined, false, false));
      return st;
    }
    const ep = this.endpointPool(endpoint);
    const st = new H2UpstreamStream(endpoint, headers, handlers, opts.endStream === true, ep);
    ep.submit(st);
    return st;
  }

  private endpointPool(endpoint: H2Endpoint): H2EndpointPool {
    const key = `${endpoint.address}:${endpoint.port}`;
    let ep = this.endpoints.get(key);
    if (!ep) {
      ep = new H2EndpointPool(endpoint, this.o, () => ++this.sessionIds, (p) => {
        if (this.endpoints.get(key) === p) this.endpoints.delete(key);
      });
      if (this.closed) ep.close();
      else this.endpoints.set(key, ep);
    }
    return ep;
  }

  stats(): H2PoolStats {
    let sessions = 0;
    let activeStreams = 0;
    let pending = 0;
    for (const ep of this.endpoints.values()) {
      sessions += ep.sessions.length;
      activeStreams += ep.activeStreams;
      pending += ep.pending;
    }
    return { endpoints: this.endpoints.size, sessions, activeStreams, pending };
  }

  /** The live sessions to one endpoint. */
  sessions(endpoint: H2Endpoint): H2SessionInfo[] {
    const ep = this.endpoints.get(`${endpoint.address}:${endpoint.port}`);
    return (ep?.sessions ?? []).map((s) => ({ id: s.id, state: s.state, activeStreams: s.active, streamsOpened: s.opened, remoteMaxConcurrentStreams: s.remoteMaxConcurrentStreams }));
  }

  /** Graceful: open streams finish, waiting requests fail, then every session closes. */
  close(): void {
    this.closed = true;
    for (const ep of [...this.endpoints.values()]) ep.close();
  }

  /** Now: every session reset. */
  destroy(): void {
    this.closed = true;
    for (const ep of [...this.endpoints.values()]) ep.destroy();
  }
}
