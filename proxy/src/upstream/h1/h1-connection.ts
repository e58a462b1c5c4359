/**
 * One keep-alive HTTP/1.1 connection to an upstream endpoint, on a raw socket: the HTTP/1.1
 * upstream codec. It writes a neutral request in HTTP/1.1 framing (content-length as given,
 * else chunked), parses the response and reports it as a neutral head, data, trailers and end;
 * a 101 to an upgrade request hands the socket to the router's tunnel. Not undici: every
 * microsecond here is measured (bench/README.md). One request at a time, so the connection is
 * itself the request's stream, and the router's decoder is its per-request `handler`.
 */
import type net from 'node:net';
import { connectUpstream, readyEvent, type UpstreamTlsTarget } from '../../tls/upstream-tls.js';
import { HttpParseError } from '../../http/parse-error.js';
import { bodyFraming, getHeader, NO_BODY, parseResponseHead, type BodyFraming, type ResponseHead } from '../../http/head-parser.js';
import { ChunkedDecoder } from '../../http/chunked-decoder.js';
import { writeRequestBody } from './h1-request-body.js';
import { headerLines } from '../../http/codec/http1/http1-head-text.js';
import type { HeaderList } from '../../http/codec/headers.js';
import type { UpstreamFailure, UpstreamRequestHeaders, UpstreamResponseDecoder, UpstreamStream } from '../upstream-codec.js';

/** What the connection needs from whoever owns it (the endpoint pool). */
export interface ConnectionOwner {
  release(conn: Http1UpstreamConnection): void;
  closed(conn: Http1UpstreamConnection): void;
  /** A request waiting for this connection failed with it (it never connected). */
  failedWhileConnecting?(): void;
}

const MAX_RESPONSE_HEAD = 60 * 1024;
const MAX_RESPONSE_HEADERS = 100;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

export class Http1UpstreamConnection implements UpstreamStream {
  readonly socket: net.Socket;
  handler: UpstreamResponseDecoder | null = null;
  connected = false;
  closed = false;
  /** Requests started on this connection. */
  requests = 0;
  /** When it went back to the pool (for the idle sweep). */
  idleSince = 0;
  /** The request being sent was fully written. */
  private requestDone = false;
  private responseDone = true;
  private responseHeadSeen = false;
  private reusable = true;
  private isHead = false;
  /** The request head, held until its first body bytes (or flush). */
  private pendingHead: string | null = null;
  private chunkedRequest = false;
  private headBuf: Buffer | null = null;
  private framing: BodyFraming = NO_BODY;
  private remaining = 0;
  /** This connection's chunked decoder (made at its first chunked response, then reused). */
  private decoder: ChunkedDecoder | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private lastError = '';
  /** The request has an `upgrade` header: a 101 may answer it (then a tunnel owns the socket). */
  private upgradeRequested = false;

  constructor(
    readonly owner: ConnectionOwner,
    readonly host: string,
    readonly port: number,
    connectTimeoutMs: number,
    /** The source address to connect from (`upstream_bind_config`), e.g. Istio's 127.0.0.6 toward the app. */
    localAddress?: string,
    /** TLS to the endpoint (the cluster's transport socket for it); undefined = plaintext. */
    tls?: UpstreamTlsTarget,
  ) {
    const socket = connectUpstream(host, port, localAddress, tls, false, 'HTTP1');
    this.socket = socket;
    if (connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => this.onConnectTimeout(), connectTimeoutMs);
    }
    socket.on(readyEvent(tls), () => this.onConnect());
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.lastError = e.code ?? e.message;
    });
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.handler?.onUpstreamDrain());
  }

  /** Takes a request: the handler is called back from now on. */
  attach(handler: UpstreamResponseDecoder, isHead: boolean): void {
    this.handler = handler;
    this.requests++;
    this.requestDone = false;
    this.responseDone = false;
    this.isHead = isHead;
    this.responseHeadSeen = false;
    this.pendingHead = null;
    this.chunkedRequest = false;
    this.headBuf = null;
    this.framing = NO_BODY;
    this.upgradeRequested = false;
    // The handler holds the connection now: giving up before it connects destroys it.
    if (this.connected) handler.onPoolReady(this);
    else handler.onPoolConnecting(this);
  }

  // ---- the request ----

  encodeHeaders(head: UpstreamRequestHeaders, endStream: boolean): void {
    const names = head.names;
    const values = head.values;
    let text = `${head.method} ${head.path} HTTP/1.1\r\n`;
    let hasLength = false;
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (n === 'content-length') hasLength = true;
      else if (n === 'upgrade') this.upgradeRequested = true;
      text += `${n}: ${values[i]}\r\n`;
    }
    if (!endStream && !hasLength) {
      this.chunkedRequest = true;
      text += 'transfer-encoding: chunked\r\n';
    }
    text += '\r\n';
    if (endStream) {
      this.socket.write(text, 'latin1');
      this.endRequest();
    } else this.pendingHead = text;
  }

  encodeData(chunk: Buffer, endStream: boolean): boolean {
    const ok = writeRequestBody(this.socket, this.pendingHead, chunk, endStream, this.chunkedRequest);
    this.pendingHead = null;
    if (endStream) this.endRequest();
    return ok;
  }

  encodeTrailers(trailers: HeaderList): void {
    if (!this.chunkedRequest) {
      // Only chunked framing carries trailers: the request just ends.
      this.encodeData(EMPTY, true);
      return;
    }
    const head = this.pendingHead;
    this.pendingHead = null;
    const text = `0\r\n${headerLines(trailers.names, trailers.values)}\r\n`;
    this.socket.write(head === null ? text : head + text, 'latin1');
    this.endRequest();
  }

  flush(): void {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      this.socket.write(head, 'latin1');
    }
  }

  reset(): void {
    this.destroy();
  }

  readDisable(disable: boolean): void {
    if (disable) this.socket.pause();
    else this.socket.resume();
  }

  /** The whole request has been written. */
  private endRequest(): void {
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
    this.handler?.onPoolReady(this);
  }

  private onConnectTimeout(): void {
    this.connectTimer = null;
    this.lastError = 'connect timeout';
    const h = this.handler;
    this.destroy();
    if (h !== null) this.owner.failedWhileConnecting?.();
    h?.onUpstreamReset('connect-failure', 'connection timeout');
  }

  // ---- the response ----

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

  /** Returns where the body starts in `data`, or -1 if the head is not complete yet. */
  private readHead(data: Buffer, h: UpstreamResponseDecoder): number {
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
          if (this.upgradeRequested) this.handOver(h, head, data.subarray(bodyStartInData));
          else this.fail(h, 'protocol-error', 'unexpected protocol upgrade');
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
      else if (framing.kind === 'chunked') {
        if (this.decoder === null) this.decoder = new ChunkedDecoder((b) => this.handler?.onUpstreamData(b), true);
        else this.decoder.reset();
      }
      const none = framing.kind === 'none';
      h.onUpstreamHeaders(head, none);
      if (this.handler !== h) return -1;
      if (none) {
        if (bodyStartInData < data.length) this.reusable = false;
        this.responseEnd(h);
        return -1;
      }
      return bodyStartInData;
    }
  }

  private readBody(data: Buffer, start: number, h: UpstreamResponseDecoder): void {
    if (start >= data.length) return;
    switch (this.framing.kind) {
      case 'length': {
        const avail = data.length - start;
        if (avail <= this.remaining) {
          this.remaining -= avail;
          h.onUpstreamData(start === 0 ? data : data.subarray(start));
        } else {
          // More bytes than the response: the upstream is confused; do not reuse.
          this.reusable = false;
          h.onUpstreamData(data.subarray(start, start + this.remaining));
          this.remaining = 0;
        }
        if (this.remaining === 0 && this.handler === h) this.responseEnd(h);
        return;
      }
      case 'chunked': {
        const decoder = this.decoder!;
        let trailers: HeaderList | null;
        let end: number;
        try {
          end = decoder.consume(data, start);
          if (end === -1 || this.handler !== h) return;
          trailers = decoder.trailers(MAX_RESPONSE_HEADERS);
        } catch (e) {
          if (this.handler === h) this.fail(h, 'protocol-error', e instanceof HttpParseError ? e.message : String(e));
          return;
        }
        if (end < data.length) this.reusable = false;
        if (trailers !== null) {
          h.onUpstreamTrailers(trailers);
          if (this.handler !== h) return;
        }
        this.responseEnd(h);
        return;
      }
      case 'close':
        h.onUpstreamData(start === 0 ? data : data.subarray(start));
        return;
      default:
        this.reusable = false;
    }
  }

  private responseEnd(h: UpstreamResponseDecoder): void {
    this.responseDone = true;
    this.responseHeadSeen = false;
    h.onUpstreamEnd();
    if (this.requestDone) this.finish();
    // Answered before the request was sent whole: the connection cannot be reused.
    else this.destroy();
  }

  /** After a 101: the socket goes to the handler's tunnel; the pool forgets it when it closes. */
  private handOver(h: UpstreamResponseDecoder, head: ResponseHead, rest: Buffer): void {
    this.responseDone = this.requestDone = true;
    this.reusable = false;
    this.handler = null;
    this.socket.removeAllListeners('data');
    h.onUpstreamUpgrade(head, this.socket, rest.length > 0 ? rest : null);
  }

  /** Request and response both complete: back to the pool or closed. */
  private finish(): void {
    this.handler = null;
    if (this.reusable && !this.closed) this.owner.release(this);
    else this.socket.destroy();
  }

  private fail(h: UpstreamResponseDecoder, kind: UpstreamFailure, reason: string): void {
    this.destroy();
    h.onUpstreamReset(kind, reason);
  }

  private onEnd(): void {
    const h = this.handler;
    if (h !== null && !this.responseDone && this.responseHeadSeen && this.framing.kind === 'close') {
      this.responseDone = true;
      this.responseHeadSeen = false;
      this.handler = null;
      h.onUpstreamEnd();
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
      if (!this.connected) {
        this.owner.failedWhileConnecting?.();
        h.onUpstreamReset('connect-failure', this.lastError || 'connection refused');
      }
      else h.onUpstreamReset('reset', this.lastError || 'connection termination');
    }
  }
}
