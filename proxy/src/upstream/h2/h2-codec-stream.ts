/**
 * One request on the HTTP/2 upstream, as the router holds it (`UpstreamStream`), over an
 * `H2UpstreamStream`: the neutral head becomes an HTTP/2 request (`:authority` from the
 * request's authority, never a Host header nor a connection-specific one; `te: trailers` kept
 * when the client sent it), body data goes out with backpressure (`onUpstreamDrain`), and the
 * response comes back as a neutral head, data, trailers and end. Failures are reported in the
 * router's reset kinds, with whether the request had been sent (`reset-before-request`).
 */
import type { HeaderList, ResponseHeaders } from '../../http/codec/headers.js';
import type { UpstreamFailure, UpstreamRequestHeaders, UpstreamResponseDecoder, UpstreamStream } from '../upstream-codec.js';
import type { H2ConnectionPool } from './h2-connection-pool.js';
import type { H2UpstreamStream } from './h2-stream.js';
import type { H2FailureReason, H2ResponseHeaders, H2StreamHandlers, H2UpstreamError, OutgoingH2Headers } from './h2-types.js';

/** Fields HTTP/2 never carries (RFC 9113 §8.2.2); in trailers they are dropped. */
const NOT_IN_H2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'te', 'trailer']);

const FAILURE: Record<H2FailureReason, UpstreamFailure> = {
  'connect-failure': 'connect-failure',
  'connect-timeout': 'connect-failure',
  'refused-stream': 'refused-stream',
  'remote-reset': 'remote-reset',
  'connection-termination': 'reset',
  'protocol-error': 'protocol-error',
  overflow: 'overflow',
};

export class H2CodecStream implements UpstreamStream, H2StreamHandlers {
  private st: H2UpstreamStream | null = null;
  /** Counted as a pending request of the cluster (waiting for a stream). */
  private pending = false;
  /** An upgrade sent as an extended CONNECT: its `:protocol` (`websocket`). */
  private upgrade: string | undefined;

  constructor(
    private readonly owner: H2ConnectionPool,
    /** Null once the response ended, the stream failed, or the router gave it up. */
    private decoder: UpstreamResponseDecoder | null,
  ) {}

  // ---- the request ----

  encodeHeaders(head: UpstreamRequestHeaders, endStream: boolean): void {
    if (this.decoder === null) return;
    const names = head.names;
    const values = head.values;
    const headers: [string, string][] = [];
    // Host and the connection-specific fields are dropped by toH2RequestHeaders (Host is the
    // :authority when the head has none).
    const upgrade = head.upgrade;
    for (let i = 0; i < names.length; i++) {
      // An extended CONNECT carries no content-length (nghttp2 refuses one on it).
      if (upgrade !== undefined && names[i] === 'content-length') continue;
      headers.push([names[i], values[i]]);
    }
    if (head.teTrailers) headers.push(['te', 'trailers']);
    const scheme = head.scheme === 'https' ? 'https' : 'http';
    let st: H2UpstreamStream;
    if (upgrade === undefined) st = this.owner.request({ method: head.method, path: head.path, authority: head.authority, scheme, headers }, this, { endStream });
    else {
      // An upgrade goes as an extended CONNECT (RFC 8441; Envoy's transformUpgradeRequestFromH1toH2);
      // the stream stays open for the tunnel, whatever the request's own end.
      this.upgrade = upgrade;
      st = this.owner.request({ method: 'CONNECT', path: head.path, authority: head.authority, scheme, headers, protocol: upgrade }, this, { endStream: false });
    }
    this.st = st;
    if (!st.isQueued) return;
    if (this.owner.addPending()) {
      this.pending = true;
      return;
    }
    // The cluster's pending queue is full: Envoy's overflow (UO), never retried.
    st.cancel();
    this.st = null;
    const d = this.decoder;
    queueMicrotask(() => {
      if (this.decoder !== d) return;
      this.decoder = null;
      d.onUpstreamReset('overflow', 'overflow', false);
    });
  }

  encodeData(chunk: Buffer, endStream: boolean): boolean {
    const st = this.st;
    if (st === null) return true;
    const ok = chunk.length > 0 ? st.write(chunk) : true;
    if (endStream) st.end();
    return ok;
  }

  encodeTrailers(trailers: HeaderList): void {
    const st = this.st;
    if (st === null) return;
    const out = Object.create(null) as OutgoingH2Headers;
    const names = trailers.names;
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (NOT_IN_H2.has(n) || n.charCodeAt(0) === 0x3a /* : */) continue;
      const prev = out[n];
      const v = trailers.values[i];
      out[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    st.end(out);
  }

  /** HEADERS go out as soon as a session takes the stream: nothing is held back. */
  flush(): void {}

  reset(): void {
    this.decoder = null;
    this.settlePending();
    const st = this.st;
    this.st = null;
    st?.cancel();
  }

  readDisable(disable: boolean): void {
    const st = this.st;
    if (st === null) return;
    if (disable) st.pause();
    else st.resume();
  }

  // ---- the response (H2StreamHandlers) ----

  /** Waiting in the pool's queue for a session with room. */
  get waiting(): boolean {
    return this.pending;
  }

  onStarted(): void {
    // A stream that started inside request() was never pending: the router times it from onPoolReady.
    if (!this.pending) return;
    this.settlePending();
    this.decoder?.onUpstreamStarted();
  }

  onHeaders(status: number, headers: H2ResponseHeaders, endStream: boolean): void {
    const d = this.decoder;
    if (d === null) return;
    if (this.upgrade !== undefined && status === 200 && !endStream) {
      this.tunnel(d, headers);
      return;
    }
    d.onUpstreamHeaders(toResponseHeaders(status, headers), endStream);
    if (!endStream && this.decoder === d) d.onUpstreamReadDone();
  }

  onData(chunk: Buffer): void {
    const d = this.decoder;
    if (d === null) return;
    d.onUpstreamData(chunk);
    if (this.decoder === d) d.onUpstreamReadDone();
  }

  onTrailers(trailers: H2ResponseHeaders): void {
    const d = this.decoder;
    if (d === null) return;
    const list = toResponseHeaders(0, trailers);
    d.onUpstreamTrailers({ names: list.names, values: list.values });
  }

  onEnd(): void {
    const d = this.decoder;
    this.decoder = null;
    this.st = null;
    d?.onUpstreamEnd();
  }

  onError(err: H2UpstreamError): void {
    this.settlePending();
    const d = this.decoder;
    this.decoder = null;
    this.st = null;
    if (d === null) return;
    d.onUpstreamReset(FAILURE[err.reason], failureText(err), err.requestSent);
  }

  onDrain(): void {
    this.decoder?.onUpstreamDrain();
  }

  /**
   * The server accepted the extended CONNECT: the router gets the stream as a 101 would give it
   * a connection (Envoy's transformUpgradeResponseFromH2toH1: 200 becomes 101 with `upgrade`).
   */
  private tunnel(d: UpstreamResponseDecoder, headers: H2ResponseHeaders): void {
    const raw = this.st?.detach();
    this.decoder = null;
    this.st = null;
    if (raw === undefined) {
      d.onUpstreamReset('reset', 'the upstream stream closed as the extended CONNECT was accepted');
      return;
    }
    const head = toResponseHeaders(101, headers);
    head.names.push('upgrade', 'connection');
    head.values.push(this.upgrade!, 'upgrade');
    d.onUpstreamUpgrade(head, raw, null);
  }

  private settlePending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.owner.removePending();
  }
}

/** Response fields as a neutral head (names are lower case already; repeated fields kept apart). */
function toResponseHeaders(status: number, headers: H2ResponseHeaders): ResponseHeaders {
  const names: string[] = [];
  const values: string[] = [];
  for (const n of Object.keys(headers)) {
    const v = headers[n];
    if (Array.isArray(v)) {
      for (const x of v) {
        names.push(n);
        values.push(x);
      }
    } else {
      names.push(n);
      values.push(v);
    }
  }
  return { status, names, values };
}

/** The transport failure as the HTTP/1.1 upstream words it (`ECONNREFUSED`, `connection timeout`), else the pool's message. */
function failureText(err: H2UpstreamError): string {
  if (err.reason === 'connect-timeout') return 'connection timeout';
  if (err.reason === 'connect-failure') return /\b(E[A-Z]{3,})\b/.exec(err.message)?.[1] ?? err.message;
  return err.message;
}
