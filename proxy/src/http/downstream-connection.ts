/**
 * One client connection to an HTTP listener: reads requests one after another
 * (keep-alive, pipelining), frames their bodies, enforces the header limits and timeouts,
 * and writes what the current stream sends back. Protocol errors are answered here
 * (400, 408, 431, 501, 505) and never forwarded.
 */
import type net from 'node:net';
import { ChunkedDecoder } from './chunked-decoder.js';
import { bodyFraming, getHeader, parseRequestHead, type BodyFraming, type RequestHead } from './head-parser.js';
import { HttpParseError } from './parse-error.js';
import { HttpStream } from './http-stream.js';
import { httpDate } from './http-date.js';
import { coalesce, COALESCE_MAX } from './coalesce.js';
import type { HcmContext, ProxyState } from './hcm-context.js';
import { statusLine } from '../router/downstream-response-head.js';
import { formatFlags, flagBit } from '../router/response-flags.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** How a listener hands its current config to a new request. */
export interface ListenerHandle {
  readonly ctx: HcmContext;
  readonly proxy: ProxyState;
  /** This listener was removed or replaced: its connections close after their response. */
  readonly draining: boolean;
}

export class DownstreamConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  /** HTTP minor version of the current request. */
  minor = 1;
  keepAlive = true;
  closeAfterResponse = false;
  private stream: HttpStream | null = null;
  private buf: Buffer | null = null;
  private inBody = false;
  private bodyRemaining = 0;
  private chunked: ChunkedDecoder | null = null;
  private parsing = false;
  private closed = false;
  private paused = false;
  private headersTimer: NodeJS.Timeout | null = null;
  private requestTimer: NodeJS.Timeout | null = null;
  private idleSince = Date.now();
  private socketTimeoutMs = 0;
  private ctx: HcmContext;
  /** The stats the connection counted itself in when it opened (a new config may change `ctx`). */
  private readonly cxStats: HcmContext['stats'];

  constructor(
    readonly socket: net.Socket,
    private readonly listener: ListenerHandle,
    private readonly onClosed: (c: DownstreamConnection) => void,
    /** `address:port` the client dialled, when iptables redirected it here (capture). */
    readonly originalDst?: string,
  ) {
    this.ctx = listener.ctx;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = `${socket.localAddress ?? ''}:${socket.localPort ?? 0}`;
    const stats = this.ctx.stats;
    this.cxStats = stats;
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    socket.setNoDelay(true);
    const hcm = this.ctx.hcm;
    this.socketTimeoutMs = minNonZero(hcm.idleTimeoutMs, hcm.streamIdleTimeoutMs);
    if (this.socketTimeoutMs > 0) socket.setTimeout(this.socketTimeoutMs);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('timeout', () => this.onTimeout());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.stream?.onDownstreamDrain());
  }

  get proxy(): ProxyState {
    return this.listener.proxy;
  }

  /** The proxy or this listener is draining: responses say `connection: close`. */
  get draining(): boolean {
    return this.listener.proxy.draining || this.listener.draining;
  }

  // ---- reading ----

  private onData(data: Buffer): void {
    if (this.closed) return;
    if (this.stream !== null) {
      if (this.inBody) {
        const next = this.feedBody(data, 0);
        if (next === -1 || next >= data.length) return;
        data = data.subarray(next);
      }
      // Pipelined bytes wait until the current response is done.
      this.buf = this.buf === null ? data : Buffer.concat([this.buf, data]);
      if (this.buf.length > this.ctx.hcm.maxRequestHeadersBytes) this.pauseReading();
      return;
    }
    this.parse(data);
  }

  /** Reads requests from buffered bytes plus `data` until one is in progress. */
  private parse(data: Buffer): void {
    this.parsing = true;
    try {
      let buf = this.buf === null ? data : data.length === 0 ? this.buf : Buffer.concat([this.buf, data]);
      this.buf = null;
      let start = 0;
      while (start < buf.length && this.stream === null && !this.closed && !this.closeAfterResponse) {
        // RFC 9112 2.2: empty lines before a request line are ignored.
        while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
        const ctx = this.listener.ctx;
        this.ctx = ctx;
        const limit = ctx.hcm.maxRequestHeadersBytes;
        const end = buf.indexOf(CRLFCRLF, start);
        if (end === -1 || end - start > limit) {
          if (buf.length - start > limit) {
            ctx.stats.downstream_rq_too_large++;
            this.protocolError(new HttpParseError(431, 'http1.headers_too_large', 'request headers too large'));
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
        } catch (e) {
          this.protocolError(e instanceof HttpParseError ? e : new HttpParseError(400, 'http1.codec_error', String(e)));
          return;
        }
        const authority = this.requestAuthority(head);
        if (authority === undefined) return;
        this.startRequest(head, framing, authority);
        start = end + 4;
        if (this.inBody) {
          const next = this.feedBody(buf, start);
          if (next === -1) return;
          start = next;
        }
      }
      if (start < buf.length && !this.closed && !this.closeAfterResponse) {
        this.buf = buf.subarray(start);
        if (this.buf.length > this.ctx.hcm.maxRequestHeadersBytes) this.pauseReading();
      }
    } finally {
      this.parsing = false;
    }
  }

  /** The request's authority: absolute-form target, else the one Host header; undefined after a 400. */
  private requestAuthority(head: RequestHead): string | undefined {
    let host: string | undefined;
    for (let i = 0; i < head.names.length; i++) {
      if (head.names[i] !== 'host') continue;
      if (host !== undefined) {
        this.protocolError(new HttpParseError(400, 'http1.codec_error', 'more than one host header'));
        return undefined;
      }
      host = head.values[i];
    }
    if (head.targetAuthority !== '') return head.targetAuthority;
    if (host === undefined) {
      if (head.minor === 1) {
        this.protocolError(new HttpParseError(400, 'http1.codec_error', 'missing host header'));
        return undefined;
      }
      return '';
    }
    return host;
  }

  private startRequest(head: RequestHead, framing: BodyFraming, authority: string): void {
    this.minor = head.minor;
    const connection = getHeader(head, 'connection');
    if (connection === undefined) this.keepAlive = head.minor === 1;
    else {
      const c = connection.toLowerCase();
      this.keepAlive = head.minor === 1 ? !/(^|,)\s*close\s*(,|$)/.test(c) : /(^|,)\s*keep-alive\s*(,|$)/.test(c);
    }
    if (this.socketTimeoutMs !== minNonZero(this.ctx.hcm.idleTimeoutMs, this.ctx.hcm.streamIdleTimeoutMs)) {
      this.socketTimeoutMs = minNonZero(this.ctx.hcm.idleTimeoutMs, this.ctx.hcm.streamIdleTimeoutMs);
      this.socket.setTimeout(this.socketTimeoutMs);
    }
    const stream = new HttpStream(this, this.ctx, head, authority, framing);
    this.stream = stream;
    if (framing.kind === 'none') {
      this.inBody = false;
      stream.onRequestEnd();
    } else {
      this.inBody = true;
      if (framing.kind === 'length') this.bodyRemaining = framing.length;
      else this.chunked = new ChunkedDecoder();
      if (this.ctx.hcm.requestTimeoutMs > 0) {
        this.requestTimer = setTimeout(() => this.onRequestTimeout(), this.ctx.hcm.requestTimeoutMs);
      }
    }
    if (getHeader(head, 'expect')?.toLowerCase() === '100-continue' && framing.kind !== 'none') {
      // Envoy answers Expect itself (proxy_100_continue off) and does not forward it.
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    stream.start();
  }

  /** Feeds body bytes from `buf[start..]`; returns where the next request starts, or -1. */
  private feedBody(buf: Buffer, start: number): number {
    const stream = this.stream!;
    if (this.chunked === null) {
      const avail = buf.length - start;
      const take = avail < this.bodyRemaining ? avail : this.bodyRemaining;
      if (take > 0) stream.onRequestData(start === 0 && take === buf.length ? buf : buf.subarray(start, start + take));
      this.bodyRemaining -= take;
      if (this.bodyRemaining > 0) return -1;
      this.bodyEnd(stream);
      return start + take;
    }
    let end: number;
    try {
      end = this.chunked.consume(buf, start);
    } catch (e) {
      this.inBody = false;
      if (stream.responseStarted) this.destroy();
      else this.protocolError(e as HttpParseError);
      return -1;
    }
    if (end === -1) {
      if (start < buf.length) stream.onRequestData(start === 0 ? buf : buf.subarray(start));
      return -1;
    }
    if (end > start) stream.onRequestData(buf.subarray(start, end));
    this.bodyEnd(stream);
    return end;
  }

  private bodyEnd(stream: HttpStream): void {
    this.inBody = false;
    this.chunked = null;
    if (this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.requestTimer = null;
    }
    stream.onRequestEnd();
  }

  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  // ---- writing ----

  writeHead(text: string): boolean {
    return this.socket.write(text, 'latin1');
  }

  /** Head and body in one write when the body is small (one syscall instead of two). */
  writeHeadAndBody(head: string, body: Buffer): boolean {
    if (body.length <= COALESCE_MAX) return this.socket.write(coalesce(head, body));
    const s = this.socket;
    s.cork();
    s.write(head, 'latin1');
    const ok = s.write(body);
    s.uncork();
    return ok;
  }

  writeBody(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  writeChunked(chunk: Buffer): boolean {
    const s = this.socket;
    s.cork();
    s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    s.write(chunk);
    const ok = s.write('\r\n', 'latin1');
    s.uncork();
    return ok;
  }

  /** Writes a reply of the proxy's own; returns the size of its head (0 when the connection is gone). */
  writeLocalReply(status: number, body: string, ctx: HcmContext, extra: Record<string, string> | undefined, close: boolean): number {
    if (this.closed) return 0;
    if (close) this.closeAfterResponse = true;
    const closing = this.closeAfterResponse || !this.keepAlive || this.draining;
    let text = statusLine(status);
    if (extra !== undefined) for (const [k, v] of Object.entries(extra)) text += `${k}: ${v}\r\n`;
    text += `content-length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
    if (body.length > 0) text += 'content-type: text/plain\r\n';
    text += `date: ${httpDate()}\r\n`;
    if (ctx.hcm.serverHeaderTransformation !== 'PASS_THROUGH') text += `server: ${ctx.serverName}\r\n`;
    if (closing) {
      text += 'connection: close\r\n';
      this.closeAfterResponse = true;
    } else if (this.minor === 0) text += 'connection: keep-alive\r\n';
    this.socket.write(text + '\r\n' + body, 'latin1');
    return text.length + 2;
  }

  /** Called by the stream when it is over (response sent, or given up). */
  streamDone(stream: HttpStream, complete: boolean): void {
    if (this.stream !== stream) return;
    this.stream = null;
    if (this.requestTimer !== null) {
      clearTimeout(this.requestTimer);
      this.requestTimer = null;
    }
    if (this.closed) return;
    if (!complete) {
      this.destroy();
      return;
    }
    if (this.inBody || this.closeAfterResponse || !this.keepAlive || this.draining) {
      // The rest of this connection's bytes cannot be trusted or is not wanted: nothing more
      // is parsed from it.
      this.inBody = false;
      this.closeAfterResponse = true;
      this.buf = null;
      if (this.draining) this.cxStats.downstream_cx_drain_close++;
      this.socket.end();
      return;
    }
    this.idleSince = Date.now();
    // Reading may have been paused for a request body the upstream did not wait for.
    this.resumeReading();
    if (this.buf !== null && !this.parsing) this.parse(EMPTY);
  }

  /** Closes the connection if no request is in progress (drain). */
  closeIfIdle(): void {
    if (this.stream === null && !this.closed) {
      this.cxStats.downstream_cx_drain_close++;
      this.socket.end();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- errors and timers ----

  /** Answers a malformed request and closes: nothing of it is forwarded. */
  private protocolError(e: HttpParseError): void {
    const ctx = this.ctx;
    this.clearHeadersTimer();
    ctx.stats.downstream_cx_protocol_error++;
    this.buf = null;
    const stream = this.stream;
    if (stream !== null && !stream.responseStarted) {
      stream.localReply({ status: e.status, body: '', flag: 'DPE', details: e.detail });
      return;
    }
    ctx.stats.downstream_rq_total++;
    ctx.stats.countResponse(e.status);
    this.closeAfterResponse = true;
    this.writeLocalReply(e.status, '', ctx, undefined, true);
    this.logConnectionReply(e.status, flagBit('DPE'), e.detail);
    this.socket.end();
  }

  private logConnectionReply(status: number, flags: number, details: string): void {
    if (!this.ctx.accessLog.enabled) return;
    this.ctx.accessLog.write({
      startTime: Date.now(),
      method: '-',
      path: '-',
      protocol: 'HTTP/1.1',
      responseCode: status,
      responseFlags: formatFlags(flags),
      responseCodeDetails: details,
      bytesReceived: 0,
      bytesSent: 0,
      durationMs: 0,
      upstreamServiceTime: undefined,
      upstreamHost: undefined,
      upstreamCluster: undefined,
      routeName: undefined,
      downstreamRemoteAddress: `${this.remoteAddress}:${this.remotePort}`,
      downstreamLocalAddress: this.localAddress,
      upstreamLocalAddress: undefined,
      reqHeader: () => undefined,
      respHeader: () => undefined,
    });
  }

  private armHeadersTimer(): void {
    const ms = this.ctx.hcm.requestHeadersTimeoutMs;
    if (ms > 0 && this.headersTimer === null) {
      this.headersTimer = setTimeout(() => {
        this.headersTimer = null;
        this.ctx.stats.downstream_rq_header_timeout++;
        this.timeoutReply('request_header_timeout');
      }, ms);
    }
  }

  private clearHeadersTimer(): void {
    if (this.headersTimer !== null) {
      clearTimeout(this.headersTimer);
      this.headersTimer = null;
    }
  }

  private onRequestTimeout(): void {
    this.requestTimer = null;
    this.ctx.stats.downstream_rq_timeout++;
    const stream = this.stream;
    if (stream !== null && !stream.responseStarted) {
      this.closeAfterResponse = true;
      stream.localReply({ status: 408, body: 'request timeout', flag: undefined, details: 'request_overall_timeout' });
    } else if (stream !== null) this.destroy();
  }

  /** 408 for a client too slow to send its request; the connection closes. */
  private timeoutReply(details: string): void {
    if (this.closed) return;
    this.buf = null;
    this.writeLocalReply(408, 'request timeout', this.ctx, undefined, true);
    this.logConnectionReply(408, 0, details);
    this.socket.end();
  }

  private onTimeout(): void {
    const stream = this.stream;
    const hcm = this.ctx.hcm;
    if (stream !== null) {
      if (hcm.streamIdleTimeoutMs === 0) return;
      // Nothing moved on this stream for stream_idle_timeout.
      if (!stream.responseStarted) {
        this.closeAfterResponse = true;
        stream.localReply({ status: 408, body: 'stream timeout', flag: 'SI', details: 'stream_idle_timeout' });
      } else this.destroy();
      return;
    }
    if (this.buf !== null && this.buf.length > 0) {
      // A request head that never completed.
      this.timeoutReply('stream_idle_timeout');
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

  private onClose(): void {
    this.closed = true;
    this.clearHeadersTimer();
    if (this.requestTimer !== null) clearTimeout(this.requestTimer);
    const stats = this.cxStats;
    stats.downstream_cx_active--;
    stats.downstream_cx_rx_bytes_total += this.socket.bytesRead;
    stats.downstream_cx_tx_bytes_total += this.socket.bytesWritten;
    const stream = this.stream;
    if (stream !== null) {
      stats.downstream_cx_destroy_remote++;
      stream.onDownstreamClose();
    }
    this.onClosed(this);
  }
}

function minNonZero(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return a < b ? a : b;
}
