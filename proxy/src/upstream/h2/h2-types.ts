/**
 * The HTTP/2 upstream pool's interface: what a caller (the router) hands in and gets back.
 *
 *   const pool = new H2UpstreamPool(h2PoolOptionsFromCluster(cluster.config));
 *   const s = pool.request({ address: '10.0.0.7', port: 9000 },
 *     { method: 'POST', path: '/pkg.Svc/Call', authority: 'svc:9000', scheme: 'http', headers },
 *     { onHeaders, onData, onTrailers, onEnd, onError, onDrain },
 *     { endStream: false });
 *   s.write(chunk) / s.end(trailers?) / s.pause() / s.resume() / s.cancel()
 *
 * Exactly one of `onEnd` / `onError` ends every stream (never both, never twice), unless the
 * caller cancels it first (then neither). Callbacks never run inside `request()` itself.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';

/** One upstream endpoint. Sessions are pooled per `address:port`. */
export interface H2Endpoint {
  readonly address: string;
  readonly port: number;
}

/** The request as the router has it; `headers` are the downstream headers, connection-specific ones included (they are dropped here). */
export interface H2RequestHead {
  readonly method: string;
  /** `:path`: origin-form path and query (`/a?b=1`). */
  readonly path: string;
  /** `:authority`: the Host (`svc:9000`). When empty, a `host` header in `headers` is used. */
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  /** Header fields in order, names in any case; repeated names allowed. Pseudo-headers here are ignored. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /**
   * Extended CONNECT (RFC 8441): `:protocol` (`websocket`), with `method` CONNECT. The server
   * must have sent SETTINGS_ENABLE_CONNECT_PROTOCOL, or the request fails (protocol-error).
   * Whether a cluster may carry upgrades this way is the caller's call (`allow_connect`).
   */
  readonly protocol?: string;
}

/** Response header fields (lower-case names, no pseudo-headers); `set-cookie` and repeated fields as arrays. */
export type H2ResponseHeaders = Record<string, string | string[]>;

/** What the caller hears about the response. */
export interface H2StreamHandlers {
  /** The final response header block (`:status` >= 200; 1xx blocks go to `onInformational`). */
  onHeaders(status: number, headers: H2ResponseHeaders, endStream: boolean): void;
  /** 1xx informational headers (100 Continue, 103 Early Hints). */
  onInformational?(status: number, headers: H2ResponseHeaders): void;
  /** A chunk of response body. Call `pause()` to stop the flow (the window then stops the server). */
  onData(chunk: Buffer): void;
  /** Response trailers (gRPC's `grpc-status`), before `onEnd`. */
  onTrailers?(trailers: H2ResponseHeaders): void;
  /** The response is complete. */
  onEnd(): void;
  /** The stream failed; see `H2UpstreamError.reason` and `retryOnConditions`. */
  onError(err: H2UpstreamError): void;
  /** The request body may be written again (after `write()` returned false). */
  onDrain?(): void;
  /**
   * The request got its HTTP/2 stream (HEADERS handed to a session): it no longer waits in the
   * pool's queue. Unlike the others, this may run inside `request()` (a session had room).
   */
  onStarted?(): void;
}

export interface H2RequestOptions {
  /** The request has no body: END_STREAM goes with the headers (`write`/`end` must not be called). */
  readonly endStream?: boolean;
}

/**
 * Why a stream failed, in Envoy's terms (`Http::StreamResetReason`):
 *   connect-failure          the TCP connect or the HTTP/2 session setup failed (LocalConnectionFailure / RemoteConnectionFailure)
 *   connect-timeout          no session (TCP + server SETTINGS) within the connect timeout (ConnectionTimeout)
 *   refused-stream           RST_STREAM REFUSED_STREAM, or the stream was above a GOAWAY's last stream id: the server did not process it (RemoteRefusedStreamReset)
 *   remote-reset             RST_STREAM with another code (RemoteReset)
 *   connection-termination   the session closed while the stream was open (ConnectionTermination)
 *   protocol-error           the upstream broke the protocol, or the request could not be encoded (ProtocolError)
 *   overflow                 the pool's pending queue was full (Overflow; never retried)
 */
export type H2FailureReason = 'connect-failure' | 'connect-timeout' | 'refused-stream' | 'remote-reset' | 'connection-termination' | 'protocol-error' | 'overflow';

export class H2UpstreamError extends Error {
  constructor(
    readonly reason: H2FailureReason,
    message: string,
    /** The HTTP/2 error code of the RST_STREAM or GOAWAY, when there was one. */
    readonly h2Code: number | undefined,
    /** The request's HEADERS were handed to a session (Envoy's "upstream request started"). */
    readonly requestSent: boolean,
    /** Response headers had arrived before the failure (a retry is then impossible). */
    readonly responseStarted: boolean,
  ) {
    super(message);
    this.name = 'H2UpstreamError';
  }
}

/**
 * The `retry_on` conditions a failure satisfies, as Envoy's router decides
 * (`RetryStateImpl::wouldRetryFromReset`): overflow never; connect failures and timeouts
 * `connect-failure`; every other reset `reset`, and `reset-before-request` while the request
 * had not been sent; REFUSED_STREAM also `refused-stream`. A failure after response headers is
 * never retried by the router, whatever this says.
 */
export function retryOnConditions(e: H2UpstreamError): string[] {
  if (e.reason === 'overflow') return [];
  const out: string[] = ['reset'];
  if (!e.requestSent) out.push('reset-before-request');
  if (e.reason === 'connect-failure' || e.reason === 'connect-timeout') out.push('connect-failure');
  if (e.reason === 'refused-stream') out.push('refused-stream');
  return out;
}

/** Settings and limits of a pool (one per cluster). Every field has a default. */
export interface H2PoolOptions {
  /** Streams per session at most (`max_concurrent_streams`); the server's SETTINGS may lower it. Default 2147483647. */
  readonly maxConcurrentStreams?: number;
  /** Sessions per endpoint at most (default 1024, Envoy's max_connections). */
  readonly maxSessionsPerEndpoint?: number;
  /** Requests waiting for a stream, per endpoint, at most; more fail with `overflow` (default 1024, Envoy's max_pending_requests). */
  readonly maxPendingPerEndpoint?: number;
  /** Streams a session carries in its life (max_requests_per_connection; 0 = unlimited). */
  readonly maxRequestsPerSession?: number;
  /** TCP connect + the server's SETTINGS (default 5000 ms, Envoy's connect_timeout). */
  readonly connectTimeoutMs?: number;
  /** A session without streams for this long is closed (default 1 h; 0 = never). */
  readonly idleTimeoutMs?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise: what a server may send on a stream nobody reads (default 1 MiB). */
  readonly initialStreamWindowSize?: number;
  /** The session's receive window (default 16 MiB). */
  readonly initialConnectionWindowSize?: number;
  /** SETTINGS_HEADER_TABLE_SIZE (default 4096). */
  readonly headerTableSize?: number;
  /** Source address of upstream connections (a cluster's `upstream_bind_config`). */
  readonly localAddress?: string;
  /**
   * The transport for a new session (a TLS socket later, with ALPN `h2`). Default: plain TCP,
   * h2c with prior knowledge. Must return a socket that is connecting or connected.
   */
  readonly createConnection?: (endpoint: H2Endpoint) => Duplex;
  /** A session was opened (connecting): for the owner's connection counters. */
  readonly onSessionOpened?: (endpoint: H2Endpoint) => void;
  /** A session closed (whether it ever became ready or not). */
  readonly onSessionClosed?: (endpoint: H2Endpoint) => void;
}

export type OutgoingH2Headers = OutgoingHttpHeaders;
