/**
 * The upstream codec contract (Envoy's connection pool, RequestEncoder and
 * ResponseDecoder). The router asks a host's pool for a stream; the pool hands it an
 * `UpstreamStream` (an HTTP/1.1 connection, or an HTTP/2 stream) on which it
 * sends a neutral request head, body data and trailers, and the stream reports the
 * response back as a neutral head, data, trailers and end. Framing, keep-alive and reuse
 * are the codec's.
 *
 * Calls on a decoder, in order: onPoolConnecting? then onPoolReady; then onUpstreamHeaders,
 * onUpstreamData*, onUpstreamTrailers?, onUpstreamEnd; or onUpstreamReset at any point.
 * A stream the router gives up on (`reset()`) calls nothing more.
 */
import type { HeaderList, ResponseHeaders } from '../http/codec/headers.js';
import type { TunnelSocket } from '../http/tunnel.js';

/** The request head the router sends upstream. */
export interface UpstreamRequestHeaders extends HeaderList {
  readonly method: string;
  readonly path: string;
  /**
   * The authority upstream. The header list also holds it as one `host` header (where the
   * client had it, so HTTP/1.1 keeps the client's order); an HTTP/2 codec sends it as
   * `:authority` and leaves that `host` out.
   */
  readonly authority: string;
  readonly scheme: string;
  /** The client sent `te: trailers` (HTTP/2 keeps it, gRPC servers need it; HTTP/1.1 drops it). */
  readonly teTrailers: boolean;
  /**
   * An allowed upgrade's `Upgrade` value (`websocket`): HTTP/1.1 sends it with `connection:
   * upgrade`, HTTP/2 as an extended CONNECT with this `:protocol`. Undefined for other requests.
   */
  readonly upgrade?: string;
}

/**
 * Why a try failed before its response ended, in Envoy's reset reasons:
 *   connect-failure  no connection (refused, timed out)                       UF
 *   reset            the connection closed under the request                  UC
 *   remote-reset     the upstream reset the stream (HTTP/2 RST_STREAM)        UR
 *   refused-stream   the upstream refused the stream unprocessed (HTTP/2)     UR
 *   protocol-error   the upstream broke the protocol                          UPE
 *   overflow         the cluster's pending-request queue is full              UO
 */
export type UpstreamFailure = 'connect-failure' | 'reset' | 'remote-reset' | 'refused-stream' | 'protocol-error' | 'overflow';

/** One request on an upstream connection, as the router holds it. */
export interface UpstreamStream {
  /** Sends the request head (`endStream`: the request has no body). */
  encodeHeaders(head: UpstreamRequestHeaders, endStream: boolean): void;
  /** Sends body bytes (`endStream`: the last); false when the connection's buffer is full (onUpstreamDrain follows). */
  encodeData(chunk: Buffer, endStream: boolean): boolean;
  /** Sends trailers, which end the request. */
  encodeTrailers(trailers: HeaderList): void;
  /** Writes what the codec holds back (a head waiting for the first body bytes). */
  flush(): void;
  /** Gives the request up: HTTP/1.1 closes the connection (never reused half-written). */
  reset(): void;
  /** Stops (true) or resumes reading the response: the client is slow. */
  readDisable(disable: boolean): void;
  /**
   * The request was handed over but waits for the upstream (an HTTP/2 stream queued until a
   * session has room): the per-try timeout starts at onUpstreamStarted, as Envoy's starts when
   * the pool has a stream. HTTP/1.1 connections are ready at onPoolReady (undefined).
   */
  readonly waiting?: boolean;
}

/** What an upstream stream reports to the router. */
export interface UpstreamResponseDecoder {
  /** A stream was given to the request and is still connecting (onPoolReady follows). */
  onPoolConnecting(stream: UpstreamStream): void;
  /** The stream can take the request now. */
  onPoolReady(stream: UpstreamStream): void;
  /** The response head (1xx are not relayed); `endStream` when it has no body. */
  onUpstreamHeaders(head: ResponseHeaders, endStream: boolean): void;
  onUpstreamData(chunk: Buffer): void;
  onUpstreamTrailers(trailers: HeaderList): void;
  /** The response is complete. */
  onUpstreamEnd(): void;
  /**
   * The connection failed or was reset before the response ended. `requestSent`: the request
   * head had gone out (Envoy's "upstream request started", for `reset-before-request`);
   * when not given, true unless `kind` is connect-failure.
   */
  onUpstreamReset(kind: UpstreamFailure, reason: string, requestSent?: boolean): void;
  /** The stream can take more request bytes. */
  onUpstreamDrain(): void;
  /** A `waiting` stream got its upstream stream (HEADERS sent). */
  onUpstreamStarted(): void;
  /** One read from the upstream was handled (a response head held back can go out now). */
  onUpstreamReadDone(): void;
  /**
   * The upstream accepted an upgrade request: HTTP/1.1 answered `101 Switching Protocols` (the
   * connection is the decoder's from now on, never back to the pool, nothing more parsed;
   * `pending` holds the bytes that came after the 101 head), or HTTP/2 answered 200 to an
   * extended CONNECT (the stream is the decoder's; `head` is given as a 101). No other call follows.
   */
  onUpstreamUpgrade(head: ResponseHeaders, socket: TunnelSocket, pending: Buffer | null): void;
}

/** The connections (or sessions) to one endpoint. */
export interface ConnectionPool {
  /** Open connections. */
  readonly connections: number;
  /** Connections open and unused. */
  readonly idleCount: number;
  /**
   * Gets a stream for `decoder` (onPoolConnecting / onPoolReady follow, maybe at once), or
   * queues it when the cluster's connection limit is reached; 'overflow' when the queue is full.
   */
  newStream(decoder: UpstreamResponseDecoder, isHead: boolean): 'ok' | 'overflow';
  /** The request gave up before it got its stream. */
  cancel(decoder: UpstreamResponseDecoder): void;
  /** Closes one idle connection, if there is one; true if it did. */
  closeOneIdle(): boolean;
  /** Closes connections idle for longer than `idleTimeoutMs`; all idle ones when 0. */
  closeIdle(now: number, idleTimeoutMs: number): void;
}
