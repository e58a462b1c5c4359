/**
 * The HTTP/1.1 server codec: reads requests one after another from a client connection
 * (keep-alive, pipelining), frames their bodies (content-length, chunked with trailers),
 * enforces the header limits and the header and idle timeouts, answers `Expect:
 * 100-continue`, and hands each request to its stream as a neutral head, body data,
 * trailers and end. Protocol errors are answered here (400, 408, 431, 501, 505) and never
 * reach a stream's upstream. The writing half is Http1ServerEncoder.
 */
import type net from 'node:net';
import { ChunkedDecoder } from '../../chunked-decoder.js';
import { underscoreHeadersAllowed } from '../underscore-headers.js';
import { bodyFraming, getHeader, parseRequestHead, partialRequestHeadError, type BodyFraming, type RequestHead } from '../../head-parser.js';
import { HttpParseError } from '../../parse-error.js';
import type { HcmContext } from '../../hcm-context.js';
import type { DownstreamUpgrade, RequestDecoder, ResponseEncoder, ServerCodecCallbacks, ServerConnection } from '../server-codec.js';
import type { ResponseHeaders } from '../headers.js';
import { headerLines, statusLine } from './http1-head-text.js';
import { setRequestAuthority } from './http1-authority.js';
import { Http1ServerEncoder } from './http1-server-encoder.js';
import { flagBit } from '../../../router/response-flags.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

export class Http1ServerCodec extends Http1ServerEncoder implements ResponseEncoder, ServerConnection {
  private stream: RequestDecoder | null = null;
  private buf: Buffer | null = null;
  private bodyRemaining = 0;
  /** The chunked decoder of this connection (made at its first chunked request, then reused). */
  private decoder: ChunkedDecoder | null = null;
  private chunkedBody = false;
  private parsing = false;
  private paused = false;
  private headersTimer: NodeJS.Timeout | null = null;
  private idleSince = Date.now();
  private socketTimeoutMs = 0;
  /** The config of the current (or last) request: limits and timeouts. */
  private ctx: HcmContext;
  /** The connection was given to a tunnel (101): nothing more is parsed or timed here. */
  private upgraded = false;
  /** A CONNECT the connection manager answers itself: the bytes after its head wait here until upgrade(). */
  private holding = false;

  constructor(
    socket: net.Socket,
    private readonly cm: ServerCodecCallbacks,
  ) {
    super(socket);
    this.ctx = cm.currentCtx;
    const hcm = this.ctx.hcm;
    this.socketTimeoutMs = minNonZero(hcm.idleTimeoutMs, hcm.streamIdleTimeoutMs);
    if (this.socketTimeoutMs > 0) socket.setTimeout(this.socketTimeoutMs);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('timeout', () => this.onTimeout());
    socket.on('drain', () => {
      if (!this.upgraded) this.stream?.onEncoderDrain();
    });
  }

  /** Bytes read before the codec was chosen (`codec_type: AUTO`). */
  receive(data: Buffer): void {
    this.onData(data);
  }

  protected get draining(): boolean {
    return this.cm.draining;
  }

  /** No request in progress. */
  get idle(): boolean {
    return this.stream === null;
  }

  // ---- reading ----

  private onData(data: Buffer): void {
    if (this.closed || this.upgraded) return;
    if (this.stream !== null || this.holding) {
      if (this.inBody) {
        const next = this.feedBody(data, 0);
        if (next === -1 || next >= data.length) return;
        data = data.subarray(next);
      }
      // Pipelined bytes wait until the current response is done.
      this.buf = this.buf === null ? data : Buffer.concat([this.buf, data]);
      if (this.buf.length > this.ctx.hcm.maxRequestHeadersBytes) this.readDisable(true);
      return;
    }
    this.parse(data);
  }

  /** Reads requests from buffered bytes plus `data` until one is in progress. */
  private parse(data: Buffer): void {
    this.parsing = true;
    let takeover: ((held: this) => void) | undefined;
    try {
      let buf = this.buf === null ? data : data.length === 0 ? this.buf : Buffer.concat([this.buf, data]);
      this.buf = null;
      let start = 0;
      while (start < buf.length && this.stream === null && !this.closed && !this.closing) {
        // RFC 9112 2.2: empty lines before a request line are ignored.
        while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
        const ctx = this.cm.currentCtx;
        this.ctx = ctx;
        const limit = ctx.hcm.maxRequestHeadersBytes;
        const end = buf.indexOf(CRLFCRLF, start);
        if (end === -1 || end - start > limit) {
          if (buf.length - start > limit) {
            ctx.stats.downstream_rq_too_large++;
            this.protocolError(new HttpParseError(431, 'http1.headers_too_large', 'request headers too large'));
            return;
          }
          const early = partialRequestHeadError(buf, start);
          if (early !== undefined) {
            this.protocolError(early);
            return;
          }
          this.buf = start === 0 ? buf : buf.subarray(start);
          this.armHeadersTimer();
          return;
        }
        this.clearHeadersTimer();
        let head: RequestHead;
        let framing: BodyFraming;
        try {
          head = parseRequestHead(buf, start, end, ctx.hcm.maxHeadersCount);
          framing = bodyFraming(head, true);
          if (!underscoreHeadersAllowed(ctx.hcm, head, ctx.codecStats?.http1)) throw new HttpParseError(400, 'http1.unexpected_underscore', 'header name with an underscore');
        } catch (e) {
          this.protocolError(e instanceof HttpParseError ? e : new HttpParseError(400, 'http1.codec_error', String(e)));
          return;
        }
        if (!this.setAuthority(head)) return;
        if (head.method === 'CONNECT' && framing.kind === 'none' && this.cm.connectTakeover !== undefined) {
          takeover = this.cm.connectTakeover(head, ctx);
          if (takeover !== undefined) {
            this.holding = true;
            start = end + 4;
            break;
          }
        }
        this.startRequest(head, framing);
        start = end + 4;
        if (this.inBody) {
          const next = this.feedBody(buf, start);
          if (next === -1) return;
          start = next;
        }
      }
      if (start < buf.length && !this.closed && !this.closing) {
        this.buf = buf.subarray(start);
        if (this.buf.length > this.ctx.hcm.maxRequestHeadersBytes) this.readDisable(true);
      }
    } finally {
      this.parsing = false;
    }
    if (takeover !== undefined) {
      this.clearHeadersTimer();
      takeover(this);
    }
  }

  /** The request's authority (see requestAuthority); false after a 400. */
  private setAuthority(head: RequestHead): boolean {
    const problem = setRequestAuthority(head);
    if (problem !== undefined) this.protocolError(new HttpParseError(400, 'http1.codec_error', problem));
    return problem === undefined;
  }

  private startRequest(head: RequestHead, framing: BodyFraming): void {
    this.minor = head.minor;
    this.isHead = head.method === 'HEAD';
    this.resetResponse();
    const connection = getHeader(head, 'connection');
    if (connection === undefined) this.keepAlive = head.minor === 1;
    else {
      const c = connection.toLowerCase();
      this.keepAlive = head.minor === 1 ? !/(^|,)\s*close\s*(,|$)/.test(c) : /(^|,)\s*keep-alive\s*(,|$)/.test(c);
    }
    const hcm = this.ctx.hcm;
    if (this.socketTimeoutMs !== minNonZero(hcm.idleTimeoutMs, hcm.streamIdleTimeoutMs)) {
      this.socketTimeoutMs = minNonZero(hcm.idleTimeoutMs, hcm.streamIdleTimeoutMs);
      this.socket.setTimeout(this.socketTimeoutMs);
    }
    const stream = this.cm.newStream(this, this.ctx);
    this.stream = stream;
    const hasBody = framing.kind !== 'none';
    if (hasBody) {
      this.inBody = true;
      if (framing.kind === 'length') {
        this.chunkedBody = false;
        this.bodyRemaining = framing.length;
      } else {
        this.chunkedBody = true;
        if (this.decoder === null) this.decoder = new ChunkedDecoder((b) => this.stream?.decodeData(b), true);
        else this.decoder.reset();
      }
      if (getHeader(head, 'expect')?.toLowerCase() === '100-continue') {
        // Envoy answers Expect itself (proxy_100_continue off) and does not forward it.
        this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
    } else this.inBody = false;
    stream.decodeHeaders(head, !hasBody);
  }

  /** Feeds body bytes from `buf[start..]`; returns where the next request starts, or -1. */
  private feedBody(buf: Buffer, start: number): number {
    const stream = this.stream!;
    if (!this.chunkedBody) {
      const avail = buf.length - start;
      const take = avail < this.bodyRemaining ? avail : this.bodyRemaining;
      if (take > 0) stream.decodeData(start === 0 && take === buf.length ? buf : buf.subarray(start, start + take));
      this.bodyRemaining -= take;
      if (this.bodyRemaining > 0 || this.stream !== stream) return -1;
      this.inBody = false;
      stream.decodeEnd();
      return start + take;
    }
    const decoder = this.decoder!;
    let end: number;
    try {
      end = decoder.consume(buf, start);
      if (end === -1 || this.stream !== stream) return -1;
      const trailers = decoder.trailers(this.ctx.hcm.maxHeadersCount);
      this.inBody = false;
      if (trailers !== null) stream.decodeTrailers(trailers);
    } catch (e) {
      this.inBody = false;
      if (stream.responseStarted) this.socket.destroy();
      else this.protocolError(e instanceof HttpParseError ? e : new HttpParseError(400, 'http1.codec_error', String(e)));
      return -1;
    }
    stream.decodeEnd();
    return end;
  }

  resetStream(): void {
    this.socket.destroy();
  }

  upgrade(head: ResponseHeaders): DownstreamUpgrade {
    this.upgraded = true;
    this.clearHeadersTimer();
    this.socket.setTimeout(0);
    const text = `${statusLine(head.status)}${headerLines(head.names, head.values)}\r\n`;
    this.socket.write(text, 'latin1');
    const pending = this.buf;
    this.buf = null;
    this.paused = false;
    return { socket: this.socket, pending, headBytes: text.length };
  }

  readDisable(disable: boolean): void {
    if (disable === this.paused) return;
    this.paused = disable;
    if (disable) this.socket.pause();
    else this.socket.resume();
  }

  // ---- the end of a stream ----

  streamDone(complete: boolean): void {
    if (this.stream === null) return;
    this.stream = null;
    if (this.closed || this.upgraded) return;
    if (!complete) {
      this.socket.destroy();
      return;
    }
    if (this.inBody || this.closing || !this.keepAlive || this.draining) {
      // The rest of this connection's bytes cannot be trusted or is not wanted: nothing more
      // is parsed from it.
      this.inBody = false;
      this.closing = true;
      this.buf = null;
      if (this.draining) this.cm.cxStats.downstream_cx_drain_close++;
      this.socket.end();
      return;
    }
    this.idleSince = Date.now();
    // Reading may have been paused for a request body the upstream did not wait for.
    this.readDisable(false);
    if (this.buf !== null && !this.parsing) this.parse(EMPTY);
  }

  /** Closes the connection if no request is in progress (drain). */
  closeIfIdle(): void {
    if (this.stream === null && !this.closed) {
      this.cm.cxStats.downstream_cx_drain_close++;
      this.socket.end();
    }
  }

  // ---- errors and timers ----

  /** Answers a malformed request and closes: nothing of it is forwarded. */
  private protocolError(e: HttpParseError): void {
    const ctx = this.ctx;
    this.clearHeadersTimer();
    ctx.stats.downstream_cx_protocol_error++;
    this.buf = null;
    this.closing = true;
    const stream = this.stream;
    if (stream !== null && !stream.responseStarted) {
      stream.onProtocolError(e.status, e.detail);
      return;
    }
    if (stream !== null) {
      this.socket.destroy();
      return;
    }
    ctx.stats.downstream_rq_total++;
    ctx.stats.countResponse(e.status);
    this.connectionReply(e.status, '', flagBit('DPE'), e.detail);
  }

  /** A reply with no stream (the request never became one); the connection closes after it. */
  private connectionReply(status: number, body: string, flags: number, details: string): void {
    if (this.closed) return;
    this.closing = true;
    this.isHead = false;
    this.resetResponse();
    const head = this.cm.connectionReplyHead(this.ctx, status, body);
    if (body.length === 0) this.encodeHeaders(head, true);
    else {
      this.encodeHeaders(head, false);
      this.encodeData(Buffer.from(body, 'latin1'), true);
    }
    this.cm.logConnectionReply(this.ctx, status, flags, details);
    this.socket.end();
  }

  private armHeadersTimer(): void {
    const ms = this.ctx.hcm.requestHeadersTimeoutMs;
    if (ms > 0 && this.headersTimer === null) {
      this.headersTimer = setTimeout(() => {
        this.headersTimer = null;
        this.ctx.stats.downstream_rq_header_timeout++;
        this.buf = null;
        this.connectionReply(408, 'request timeout', 0, 'request_header_timeout');
      }, ms);
    }
  }

  private clearHeadersTimer(): void {
    if (this.headersTimer !== null) {
      clearTimeout(this.headersTimer);
      this.headersTimer = null;
    }
  }

  private onTimeout(): void {
    if (this.upgraded) return;
    const stream = this.stream;
    const hcm = this.ctx.hcm;
    if (stream !== null) {
      if (hcm.streamIdleTimeoutMs === 0) return;
      // Nothing moved on this stream for stream_idle_timeout.
      stream.onIdleTimeout();
      return;
    }
    if (this.buf !== null && this.buf.length > 0) {
      // A request head that never completed.
      this.buf = null;
      this.connectionReply(408, 'request timeout', 0, 'stream_idle_timeout');
      return;
    }
    if (hcm.idleTimeoutMs === 0) return;
    const left = hcm.idleTimeoutMs - (Date.now() - this.idleSince);
    if (left > 0) {
      this.socketTimeoutMs = left;
      this.socket.setTimeout(left);
      return;
    }
    this.ctx.stats.downstream_cx_idle_timeout++;
    this.socket.end();
  }

  onSocketClose(): number {
    this.closed = true;
    this.clearHeadersTimer();
    const stream = this.stream;
    // A tunnel reports its own end (the stream finishes when both sides are closed).
    if (stream === null || this.upgraded) return 0;
    stream.onResetStream();
    return 1;
  }
}

function minNonZero(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return a < b ? a : b;
}
