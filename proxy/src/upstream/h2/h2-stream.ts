/**
 * One request on the HTTP/2 pool: queued until a session has room, then a `ClientHttp2Stream`.
 * The caller writes the request body with backpressure (`write` returns false, `onDrain` says
 * when to go on) and reads the response with `pause`/`resume`, which stops reading and so
 * stops the stream's flow-control window: a slow reader never makes the pool buffer more than
 * the window. While queued, at most what the caller wrote before `write` returned false is held.
 */
import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { splitResponseHeaders } from './h2-headers.js';
import type { H2Session } from './h2-session.js';
import { H2UpstreamError, type H2Endpoint, type H2StreamHandlers } from './h2-types.js';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, HTTP2_HEADER_STATUS } = http2.constants;

/** What the endpoint pool offers a queued stream. */
export interface H2StreamOwner {
  /** Takes a queued stream out of the queue (it was cancelled). */
  unqueue(st: H2UpstreamStream): void;
}

export class H2UpstreamStream {
  private stream: ClientHttp2Stream | undefined;
  private session: H2Session | undefined;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private ending = false;
  private trailers: OutgoingHttpHeaders | undefined;
  private paused = false;
  private done = false;
  private responseStarted = false;
  private streamError: Error | undefined;
  private wantDrain = false;

  constructor(
    readonly endpoint: H2Endpoint,
    readonly headers: OutgoingHttpHeaders,
    private readonly handlers: H2StreamHandlers,
    private readonly endStream: boolean,
    private readonly owner: H2StreamOwner,
  ) {}

  /** The session's id in its pool, once the stream has one. */
  get sessionId(): number | undefined {
    return this.session?.id;
  }

  /** The HTTP/2 stream id, once HEADERS went out. */
  get streamId(): number | undefined {
    return this.stream?.id;
  }

  /** Still waiting for a session. */
  get isQueued(): boolean {
    return this.stream === undefined && !this.done;
  }

  /** Request bytes held by the pool and the stream, not yet sent. */
  get bufferedRequestBytes(): number {
    return this.queuedBytes + (this.stream?.writableLength ?? 0);
  }

  /** Response bytes received and not yet handed to `onData` (bounded by the stream window while paused). */
  get bufferedResponseBytes(): number {
    return this.stream?.readableLength ?? 0;
  }

  /** Writes request body. False: wait for `onDrain` before writing more. */
  write(chunk: Buffer): boolean {
    if (this.done || this.ending || this.endStream) return false;
    if (this.stream) {
      if (this.stream.destroyed) return false;
      const ok = this.stream.write(chunk);
      if (!ok) this.wantDrain = true;
      return ok;
    }
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    this.wantDrain = true;
    return false;
  }

  /** Ends the request body, with trailers if given. */
  end(trailers?: OutgoingHttpHeaders): void {
    if (this.done || this.ending || this.endStream) return;
    this.ending = true;
    this.trailers = trailers;
    this.stream?.end();
  }

  /** Stops delivering response data (and so the window updates that let the server send more). */
  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }

  /** Gives up: RST_STREAM(CANCEL), or out of the queue. No handler runs afterwards. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    if (this.stream) {
      if (!this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
    } else this.owner.unqueue(this);
  }

  /**
   * Hands the HTTP/2 stream to the caller (an extended CONNECT the server accepted: the caller
   * relays bytes on it both ways and owns its end). No handler runs afterwards; the session
   * still counts the stream until it closes. Undefined when there is no open stream to give.
   */
  detach(): ClientHttp2Stream | undefined {
    const st = this.stream;
    if (this.done || st === undefined || st.destroyed) return undefined;
    this.done = true;
    return st;
  }

  /** Fails the stream (from the pool: overflow, connect failure). Handlers run on a later tick. */
  fail(err: H2UpstreamError): void {
    if (this.done) return;
    this.done = true;
    this.queued = [];
    this.queuedBytes = 0;
    queueMicrotask(() => this.handlers.onError(err));
  }

  /**
   * The pool found room on `session`: opens the stream and sends what was queued. False when
   * the session turned out unable to take it (closing under our feet): queue it again.
   */
  attach(session: H2Session): boolean {
    if (this.done) return true;
    if (this.headers[':protocol'] !== undefined && !session.session.remoteSettings.enableConnectProtocol) {
      this.fail(new H2UpstreamError('protocol-error', `the upstream does not accept extended CONNECT (no SETTINGS_ENABLE_CONNECT_PROTOCOL): :protocol ${String(this.headers[':protocol'])} cannot be sent`, undefined, false, false));
      return true;
    }
    let st: ClientHttp2Stream;
    try {
      st = session.open(this.headers, this.endStream);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION' || code === 'ERR_HTTP2_OUT_OF_STREAMS') {
        session.stopTaking();
        return false;
      }
      this.fail(new H2UpstreamError('protocol-error', `the request cannot be sent over HTTP/2: ${(e as Error).message}`, undefined, false, false));
      return true;
    }
    this.session = session;
    this.stream = st;
    this.handlers.onStarted?.();
    st.on('headers', (h: IncomingHttpHeaders) => {
      const { status, headers } = splitResponseHeaders(h);
      if (status >= 100 && status < 200 && !this.done) this.handlers.onInformational?.(status, headers);
    });
    st.on('response', (h: IncomingHttpHeaders, flags: number) => {
      if (this.done) return;
      this.responseStarted = true;
      const { status, headers } = splitResponseHeaders(h);
      this.handlers.onHeaders(status || Number(h[HTTP2_HEADER_STATUS]), headers, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0);
    });
    st.on('data', (chunk: Buffer) => {
      if (!this.done) this.handlers.onData(chunk);
    });
    st.on('trailers', (h: IncomingHttpHeaders) => {
      if (!this.done) this.handlers.onTrailers?.(splitResponseHeaders(h).headers);
    });
    st.on('end', () => this.onResponseEnd());
    st.on('wantTrailers', () => {
      try {
        st.sendTrailers(this.trailers ?? {}); // {} ends the stream with an empty DATA frame
      } catch {
        // The stream went away in between; its 'close' tells why.
      }
    });
    st.on('drain', () => this.drained());
    st.on('error', (err: Error) => {
      this.streamError ??= err;
    });
    st.on('close', () => this.onClose());
    if (this.paused) st.pause();
    const chunks = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    let ok = true;
    for (const c of chunks) ok = st.write(c);
    if (this.ending) st.end();
    if (ok && this.wantDrain) queueMicrotask(() => this.drained());
    return true;
  }

  private drained(): void {
    if (!this.wantDrain || this.done) return;
    this.wantDrain = false;
    this.handlers.onDrain?.();
  }

  private onResponseEnd(): void {
    if (this.done) return;
    const st = this.stream!;
    // Node also ends the readable side when the session dies under the stream (then with a
    // reset code already set, or the session destroyed): only a clean END_STREAM completes the
    // response; anything else is classified when the stream closes.
    if (!this.responseStarted || (st.rstCode !== undefined && st.rstCode !== NGHTTP2_NO_ERROR) || this.session!.session.destroyed) return;
    this.done = true;
    this.handlers.onEnd();
    // The response is complete; a request still being sent is of no use any more.
    if (!st.writableFinished && !st.closed) st.close(NGHTTP2_CANCEL);
  }

  private onClose(): void {
    if (this.done) return;
    this.done = true;
    this.handlers.onError(this.classify());
  }

  /** Why the stream ended without a complete response, in Envoy's reset reasons. */
  private classify(): H2UpstreamError {
    const st = this.stream!;
    const session = this.session!;
    const code = st.rstCode;
    const started = this.responseStarted;
    const goaway = session.goawayLastStreamId;
    if (code === NGHTTP2_REFUSED_STREAM || (goaway !== undefined && !started && (st.id === undefined || st.id > goaway))) {
      return new H2UpstreamError('refused-stream', `upstream refused the stream${goaway !== undefined ? ` (GOAWAY, last stream ${goaway})` : ''}`, NGHTTP2_REFUSED_STREAM, true, started);
    }
    const errCode = (this.streamError as NodeJS.ErrnoException | undefined)?.code;
    if (errCode === 'ERR_HTTP2_STREAM_ERROR' && code !== undefined && code !== NGHTTP2_NO_ERROR && code !== NGHTTP2_CANCEL) {
      const reason = code === NGHTTP2_PROTOCOL_ERROR ? 'protocol-error' : 'remote-reset';
      return new H2UpstreamError(reason, `upstream reset the stream (RST_STREAM error code ${code})`, code, true, started);
    }
    const sf = session.sessionFailure();
    if (sf) return new H2UpstreamError(sf.reason, sf.message, sf.code, true, started);
    if (this.streamError) return new H2UpstreamError('connection-termination', `upstream stream failed: ${this.streamError.message}`, code, true, started);
    if (!session.session.destroyed && !session.session.closed && code !== undefined) {
      return new H2UpstreamError('remote-reset', `upstream reset the stream (RST_STREAM error code ${code})`, code, true, started);
    }
    return new H2UpstreamError('connection-termination', 'the upstream connection closed before the response ended', code, true, started);
  }
}
