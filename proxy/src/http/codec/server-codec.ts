/**
 * The downstream codec contract (Envoy's ServerConnection, RequestDecoder and
 * ResponseEncoder). A codec reads a client connection in its wire format (HTTP/1.1,
 * HTTP/2) and turns each request into calls on a `RequestDecoder`, the connection
 * manager's stream; the stream answers through the codec's `ResponseEncoder` with neutral
 * heads, body data and trailers. Framing, keep-alive, flow-control windows and protocol
 * errors stay in the codec: the stream never sees a byte of wire format.
 *
 * Calls on one stream, in order: decodeHeaders, then decodeData* and decodeTrailers?
 * and decodeEnd (unless decodeHeaders said endStream); onResetStream may come at any time
 * before the stream calls `streamDone`. The codec may stop delivering once the stream is done.
 */
import type { HcmContext } from '../hcm-context.js';
import type { HeaderList, RequestHeaders, ResponseHeaders } from './headers.js';
import type { TunnelSocket } from '../tunnel.js';

/** What a codec calls on one request stream. */
export interface RequestDecoder {
  /** The request head; `endStream` when it has no body. */
  decodeHeaders(head: RequestHeaders, endStream: boolean): void;
  /** A piece of the request body (a view the stream may keep). */
  decodeData(chunk: Buffer): void;
  /** The request's trailers; decodeEnd follows. */
  decodeTrailers(trailers: HeaderList): void;
  /** The request is complete. */
  decodeEnd(): void;
  /** The client went away or reset the stream before the response was complete. */
  onResetStream(): void;
  /** The client can take more response bytes again (after encodeData returned false). */
  onEncoderDrain(): void;
  /** Nothing moved on this stream for `stream_idle_timeout`. */
  onIdleTimeout(): void;
  /**
   * The request is malformed past its head (bad body framing): the stream answers with
   * `status` if it can, else resets; nothing more of the request is forwarded.
   */
  onProtocolError(status: number, details: string): void;
  /** The response head went out (no local reply any more). */
  readonly responseStarted: boolean;
}

/** What a request stream calls on its codec. */
export interface ResponseEncoder {
  /**
   * Sends the response head (`endStream`: it has no body). The codec adds its framing and
   * connection headers. Returns the head's size on the wire, for the metrics.
   */
  encodeHeaders(head: ResponseHeaders, endStream: boolean): number;
  /** Sends body bytes (`endStream`: the last); false when the client's buffer is full (onEncoderDrain follows). */
  encodeData(chunk: Buffer, endStream: boolean): boolean;
  /** Sends trailers, which end the response (a codec that cannot carry them drops them). */
  encodeTrailers(trailers: HeaderList): void;
  /**
   * Writes what the codec holds back: HTTP/1.1 keeps a response head until the body bytes
   * of the same upstream read, so both leave in one write. Called once a read is handled.
   */
  flush(): void;
  /** Stops (true) or resumes (false) reading this stream's request body: flow control. */
  readDisable(disable: boolean): void;
  /** The connection should close once this response is out (HTTP/1.1 `connection: close`). */
  closeAfterResponse(): void;
  /**
   * Resets the stream now (HTTP/1.1 closes the connection; HTTP/2 sends RST_STREAM); the
   * codec then reports onResetStream.
   */
  resetStream(): void;
  /**
   * The stream is over: counted and logged. `complete` false resets it (HTTP/1.1 closes
   * the connection; HTTP/2 resets the stream). The codec forgets the stream.
   */
  streamDone(complete: boolean): void;
  /**
   * HTTP/1.1, and HTTP/2 extended CONNECT streams (absent on other HTTP/2 streams): sends the
   * upgrade's answer (`101 Switching Protocols`; on HTTP/2 a 200) and gives the connection (or
   * the HTTP/2 stream) up to a byte tunnel. The codec parses nothing more and leaves its end to
   * the tunnel; the stream still calls `streamDone` when the tunnel is over.
   */
  upgrade?(head: ResponseHeaders): DownstreamUpgrade;
}

/** The client's side, handed to a tunnel after a 101 (its socket; on HTTP/2, its stream). */
export interface DownstreamUpgrade {
  readonly socket: TunnelSocket;
  /** Bytes the client sent after the request head, before the 101 (HTTP/1.1). */
  readonly pending: Buffer | null;
  /** The 101 head's size on the wire. */
  readonly headBytes: number;
}

/** What a codec needs from the connection manager that owns its connection. */
export interface ServerCodecCallbacks {
  /** The listener's config now: each new request takes it (a new config never changes a request in flight). */
  readonly currentCtx: HcmContext;
  /** The proxy or the listener is draining: connections close after their response. */
  readonly draining: boolean;
  /** The stats the connection was counted in when it opened (a new config may bring others). */
  readonly cxStats: HcmContext['stats'];
  /** A request head arrived: the stream that will carry it (its decodeHeaders follows). */
  newStream(encoder: ResponseEncoder, ctx: HcmContext): RequestDecoder;
  /** The codec answered a request that has no stream (malformed head, header timeout): log it. */
  logConnectionReply(ctx: HcmContext, status: number, flags: number, details: string): void;
  /** A reply of the proxy's own without a stream: its head (status, content-length, date, server). */
  connectionReplyHead(ctx: HcmContext, status: number, body: string): ResponseHeaders;
  /**
   * A CONNECT head arrived (HTTP/1.1): a takeover when the proxy answers it itself (see
   * http/connect-terminate.ts); the codec then holds the bytes that follow and calls it.
   */
  connectTakeover?(head: RequestHeaders, ctx: HcmContext): ((held: { upgrade(head: ResponseHeaders): DownstreamUpgrade }) => void) | undefined;
}

/** A codec on a connection, as its connection manager drives it. */
export interface ServerConnection {
  /** Drain: HTTP/1.1 closes the connection if no request is in progress; HTTP/2 sends GOAWAY. */
  closeIfIdle(): void;
  /** The socket closed: the streams still open are reset. Returns how many there were. */
  onSocketClose(): number;
}
