/**
 * One keep-alive HTTP/1.1 connection to an upstream endpoint, on a raw socket.
 *
 * Why not undici: on this path every microsecond is a measured cost (see bench/README.md).
 * A connection carries one request at a time; the attempt using it is its `handler`,
 * swapped per request, so no closure is made per request. The response is parsed here
 * and handed to the handler as head, body pieces and end, with the exact framing.
 */
import net from 'node:net';
import { HttpParseError } from '../http/parse-error.js';
import { bodyFraming, getHeader, NO_BODY, parseResponseHead, type BodyFraming, type ResponseHead } from '../http/head-parser.js';
import { ChunkedDecoder } from '../http/chunked-decoder.js';

export type UpstreamFailure = 'connect-failure' | 'reset' | 'protocol-error';

export interface UpstreamHandler {
  /** A new connection was attached and is still connecting (onConnected follows). */
  onConnecting(conn: UpstreamConnection): void;
  onConnected(conn: UpstreamConnection): void;
  onResponseHead(head: ResponseHead, framing: BodyFraming): void;
  onResponseData(chunk: Buffer): void;
  onResponseEnd(): void;
  /** The connection failed or was reset before the response ended. */
  onUpstreamError(kind: UpstreamFailure, reason: string): void;
  /** The upstream socket can take more request bytes. */
  onUpstreamDrain(): void;
  /** One read from the upstream was handled (a response head held back can go out now). */
  onUpstreamReadDone(): void;
}

/** What the connection needs from whoever owns it (the endpoint pool). */
export interface ConnectionOwner {
  release(conn: UpstreamConnection): void;
  closed(conn: UpstreamConnection): void;
}

const MAX_RESPONSE_HEAD = 60 * 1024;
const MAX_RESPONSE_HEADERS = 100;
const CRLFCRLF = Buffer.from('\r\n\r\n');

export class UpstreamConnection {
  readonly socket: net.Socket;
  handler: UpstreamHandler | null = null;
  /** Set by the handler in onResponseHead: hand out a chunked body's payload, not its framing. */
  dechunk = false;
  connected = false;
  closed = false;
  /** Requests started on this connection. */
  requests = 0;
  /** When it went back to the pool (for the idle sweep). */
  idleSince = 0;
  /** The request being sent was fully written. */
  private requestDone = false;
  private responseDone = true;
  private reusable = true;
  private isHead = false;
  private headBuf: Buffer | null = null;
  private framing: BodyFraming = NO_BODY;
  private remaining = 0;
  private chunked: ChunkedDecoder | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private lastError = '';

  constructor(
    readonly owner: ConnectionOwner,
    readonly host: string,
    readonly port: number,
    connectTimeoutMs: number,
    /** The source address to connect from (`upstream_bind_config`), e.g. Istio's 127.0.0.6 toward the app. */
    localAddress?: string,
  ) {
    const socket = net.connect({ host, port, noDelay: true, ...(localAddress !== undefined ? { localAddress } : {}) });
    this.socket = socket;
    if (connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => this.onConnectTimeout(), connectTimeoutMs);
    }
    socket.on('connect', () => this.onConnect());
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.lastError = e.code ?? e.message;
    });
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.handler?.onUpstreamDrain());
  }

  /** Takes a request: the handler is called back from now on. */
  attach(handler: UpstreamHandler, isHead: boolean): void {
    this.handler = handler;
    this.requests++;
    this.requestDone = false;
    this.responseDone = false;
    this.isHead = isHead;
    this.dechunk = false;
    this.responseHeadSeen = false;
    this.headBuf = null;
    this.framing = NO_BODY;
    this.chunked = null;
    // The handler holds the connection from now on, so that giving up on the request
    // (timeout, client gone) before it connects destroys it and detaches the handler.
    if (this.connected) handler.onConnected(this);
    else handler.onConnecting(this);
  }

  /** Writes request bytes; false when the socket buffer is full (wait for onUpstreamDrain). */
  write(data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  /** The whole request has been written. */
  endRequest(): void {
    this.requestDone = true;
    if (this.responseDone) this.finish();
  }

  /** Drops the connection (the request is abandoned: timeout, downstream gone, retry). */
  destroy(): void {
    this.handler = null;
    this.reusable = false;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.socket.destroy();
  }

  private onConnect(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    this.connected = true;
    this.handler?.onConnected(this);
  }

  private onConnectTimeout(): void {
    this.connectTimer = null;
    this.lastError = 'connect timeout';
    const h = this.handler;
    this.destroy();
    h?.onUpstreamError('connect-failure', 'connection timeout');
  }

  private onData(data: Buffer): void {
    const h = this.handler;
    if (h === null || this.responseDone) {
      // Bytes nobody asked for: the connection can no longer be trusted.
      this.destroy();
      return;
    }
    let start = 0;
    if (!this.responseHeadSeen) {
      start = this.readHead(data, h);
      if (start < 0 || this.handler !== h) {
        if (this.handler === h) h.onUpstreamReadDone();
        return;
      }
    }
    this.readBody(data, start, h);
    if (this.handler === h) h.onUpstreamReadDone();
  }

  private responseHeadSeen = false;

  /** Returns where the body starts in `data`, or -1 if the head is not complete yet. */
  private readHead(data: Buffer, h: UpstreamHandler): number {
    for (;;) {
      let buf = data;
      let offsetInData = 0;
      if (this.headBuf !== null) {
        offsetInData = this.headBuf.length;
        buf = Buffer.concat([this.headBuf, data]);
      }
      const end = buf.indexOf(CRLFCRLF);
      if (end === -1) {
        if (buf.length > MAX_RESPONSE_HEAD) {
          this.fail(h, 'protocol-error', 'response headers too large');
          return -1;
        }
        this.headBuf = buf;
        return -1;
      }
      let head: ResponseHead;
      try {
        head = parseResponseHead(buf, 0, end, MAX_RESPONSE_HEADERS);
      } catch (e) {
        this.fail(h, 'protocol-error', e instanceof HttpParseError ? e.message : String(e));
        return -1;
      }
      const bodyStartInData = end + 4 - offsetInData;
      this.headBuf = null;
      if (head.status < 200) {
        // 100 Continue and other interim responses: the proxy answered Expect itself.
        if (head.status === 101) {
          this.fail(h, 'protocol-error', 'unexpected protocol upgrade');
          return -1;
        }
        data = data.subarray(bodyStartInData);
        if (data.length === 0) return -1;
        continue;
      }
      const connection = getHeader(head, 'connection');
      if (connection !== undefined ? /(^|,)\s*close\s*(,|$)/i.test(connection) : head.minor === 0) this.reusable = false;
      let framing: BodyFraming;
      try {
        framing = this.isHead || head.status === 204 || head.status === 304 ? NO_BODY : bodyFraming(head, false);
      } catch (e) {
        this.fail(h, 'protocol-error', e instanceof HttpParseError ? e.message : String(e));
        return -1;
      }
      this.framing = framing;
      this.responseHeadSeen = true;
      if (framing.kind === 'length') this.remaining = framing.length;
      else if (framing.kind === 'close') this.reusable = false;
      h.onResponseHead(head, framing);
      if (this.handler !== h) return -1;
      if (framing.kind === 'chunked') {
        this.chunked = new ChunkedDecoder(this.dechunk ? (b) => this.handler?.onResponseData(b) : undefined);
      }
      if (framing.kind === 'none') {
        if (bodyStartInData < data.length) this.reusable = false;
        this.responseEnd(h);
        return -1;
      }
      return bodyStartInData;
    }
  }

  private readBody(data: Buffer, start: number, h: UpstreamHandler): void {
    if (start >= data.length) return;
    switch (this.framing.kind) {
      case 'length': {
        const avail = data.length - start;
        if (avail <= this.remaining) {
          this.remaining -= avail;
          h.onResponseData(start === 0 ? data : data.subarray(start));
        } else {
          // More bytes than the response: the upstream is confused; do not reuse.
          this.reusable = false;
          h.onResponseData(data.subarray(start, start + this.remaining));
          this.remaining = 0;
        }
        if (this.remaining === 0 && this.handler === h) this.responseEnd(h);
        return;
      }
      case 'chunked': {
        let end: number;
        try {
          end = this.chunked!.consume(data, start);
        } catch (e) {
          this.fail(h, 'protocol-error', e instanceof HttpParseError ? e.message : String(e));
          return;
        }
        if (end === -1) {
          if (!this.dechunk) h.onResponseData(start === 0 ? data : data.subarray(start));
          return;
        }
        if (end < data.length) this.reusable = false;
        if (!this.dechunk) h.onResponseData(data.subarray(start, end));
        if (this.handler === h) this.responseEnd(h);
        return;
      }
      case 'close':
        h.onResponseData(start === 0 ? data : data.subarray(start));
        return;
      default:
        this.reusable = false;
    }
  }

  private responseEnd(h: UpstreamHandler): void {
    this.responseDone = true;
    this.responseHeadSeen = false;
    h.onResponseEnd();
    if (this.requestDone) this.finish();
    // The upstream answered before the request was sent whole: the rest of the request
    // has nowhere to go and the connection cannot be reused, so it closes now.
    else this.destroy();
  }

  /** Request and response both complete: back to the pool or closed. */
  private finish(): void {
    this.handler = null;
    if (this.reusable && !this.closed) this.owner.release(this);
    else this.socket.destroy();
  }

  private fail(h: UpstreamHandler, kind: UpstreamFailure, reason: string): void {
    this.destroy();
    h.onUpstreamError(kind, reason);
  }

  private onEnd(): void {
    const h = this.handler;
    if (h !== null && !this.responseDone && this.responseHeadSeen && this.framing.kind === 'close') {
      this.responseDone = true;
      this.responseHeadSeen = false;
      this.handler = null;
      h.onResponseEnd();
    }
  }

  private onClose(): void {
    this.closed = true;
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    const h = this.handler;
    this.handler = null;
    this.owner.closed(this);
    if (h !== null && !this.responseDone) {
      if (!this.connected) h.onUpstreamError('connect-failure', this.lastError || 'connection refused');
      else h.onUpstreamError('reset', this.lastError || 'connection termination');
    }
  }
}
