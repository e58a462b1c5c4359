/**
 * The HTTP connection manager of one client connection (Envoy's ConnectionManagerImpl):
 * it puts a codec on the socket (`codec_type`: HTTP/1.1, HTTP/2, or AUTO by the first
 * bytes), makes a stream for each request the codec reads, counts the connection, gives
 * the streams what they need to know about it (addresses, the original destination,
 * draining) and logs the replies the codec makes without a stream. Everything it does is
 * protocol-neutral; the wire format is the codec's.
 */
import type net from 'node:net';
import type { HcmContext, ProxyState } from './hcm-context.js';
import type { RequestDecoder, ResponseEncoder, ServerCodecCallbacks, ServerConnection } from './codec/server-codec.js';
import type { HttpProtocol, RequestHeaders, ResponseHeaders } from './codec/headers.js';
import { connectTakeover, type ConnectTakeover } from './connect-terminate.js';
import { Http1ServerCodec } from './codec/http1/http1-server-codec.js';
import { H2ServerCodec } from './codec/http2/h2-server-codec.js';
import { detectPreface } from './codec/preface.js';
import { RouterStream } from '../router/router-stream.js';
import { localReplyHead } from './local-reply-head.js';
import { clientCertInfo } from '../security/downstream-client-cert.js';
import type { ClientCertInfo } from '../security/xfcc.js';
import { formatFlags } from '../router/response-flags.js';

/** How a listener hands its current config to a new request. */
export interface ListenerHandle {
  readonly ctx: HcmContext;
  readonly proxy: ProxyState;
  /** This listener was removed or replaced: its connections close after their response. */
  readonly draining: boolean;
  /** Takes a socket as a new client connection (a terminated CONNECT's tunnel). */
  adoptHttp?(socket: net.Socket, originalDst?: string): void;
}

export class HttpConnectionManager implements ServerCodecCallbacks {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly cxStats: HcmContext['stats'];
  /** The client's verified URI SAN, set by a TLS filter chain (DownstreamInfo.peerPrincipal). */
  peerPrincipal: string | undefined;
  private codec: ServerConnection | null = null;
  /** AUTO: bytes read while the preface is still possible. */
  private first: Buffer | null = null;
  private detecting: ((d: Buffer) => void) | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly listener: ListenerHandle,
    private readonly onClosed: (c: HttpConnectionManager) => void,
    /** `address:port` the client dialled, when iptables redirected it here (capture). */
    readonly originalDst?: string,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = `${socket.localAddress ?? ''}:${socket.localPort ?? 0}`;
    const stats = listener.ctx.stats;
    this.cxStats = stats;
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => this.onSocketClose());
    const codecType = listener.ctx.hcm.codecType;
    if (codecType === 'HTTP1') this.codec = new Http1ServerCodec(socket, this);
    else if (codecType === 'HTTP2') this.codec = new H2ServerCodec(socket, this);
    else {
      // AUTO: the first bytes tell (prior-knowledge h2c starts with the preface).
      this.detecting = (d) => this.detect(d);
      socket.on('data', this.detecting);
      const idle = listener.ctx.hcm.idleTimeoutMs;
      if (idle > 0) socket.setTimeout(idle);
      socket.on('timeout', this.onSilent);
    }
  }

  private detect(data: Buffer): void {
    const buf = this.first === null ? data : Buffer.concat([this.first, data]);
    const kind = detectPreface(buf);
    if (kind === 'more') {
      this.first = buf;
      return;
    }
    this.first = null;
    this.socket.removeListener('data', this.detecting!);
    this.socket.removeListener('timeout', this.onSilent);
    this.detecting = null;
    if (kind === 'h1') {
      const codec = new Http1ServerCodec(this.socket, this);
      this.codec = codec;
      codec.receive(buf);
      return;
    }
    // node's session reads the socket itself: the bytes already read go back first. Its
    // idle timeout is the session's own.
    this.socket.setTimeout(0);
    this.socket.pause();
    this.socket.unshift(buf);
    this.codec = new H2ServerCodec(this.socket, this);
  }

  /** A connection that never sent a byte within the idle timeout. */
  private readonly onSilent = (): void => {
    if (this.codec !== null) return;
    this.listener.ctx.stats.downstream_cx_idle_timeout++;
    this.socket.end();
  };

  /** The client's verified certificate on a TLS chain (x-forwarded-client-cert). */
  get clientCert(): ClientCertInfo | undefined {
    return clientCertInfo(this.socket, this.peerPrincipal);
  }

  /** The client connection is TLS (a virtual host's `require_tls`). */
  get secure(): boolean {
    return (this.socket as net.Socket & { encrypted?: boolean }).encrypted === true;
  }

  /** The SNI of a TLS client connection (RBAC `requested_server_name`). */
  get requestedServerName(): string | undefined {
    const sni = (this.socket as net.Socket & { servername?: string | false }).servername;
    return typeof sni === 'string' && sni !== '' ? sni : undefined;
  }

  get currentCtx(): HcmContext {
    return this.listener.ctx;
  }

  get proxy(): ProxyState {
    return this.listener.proxy;
  }

  /** The proxy or this listener is draining: responses say `connection: close`. */
  get draining(): boolean {
    return this.listener.proxy.draining || this.listener.draining;
  }

  newStream(encoder: ResponseEncoder, ctx: HcmContext): RequestDecoder {
    return new RouterStream(this, encoder, ctx);
  }

  connectTakeover(head: RequestHeaders, ctx: HcmContext): ConnectTakeover | undefined {
    const l = this.listener;
    const virtualListener = l.proxy.virtualListener;
    return connectTakeover(head, ctx, { socket: this.socket, adoptHttp: l.adoptHttp === undefined ? undefined : (s, dst) => l.adoptHttp!(s, dst), ...(virtualListener !== undefined ? { virtualListener } : {}) });
  }

  connectionReplyHead(ctx: HcmContext, status: number, body: string): ResponseHeaders {
    return localReplyHead(ctx, status, body, undefined);
  }

  logConnectionReply(ctx: HcmContext, status: number, flags: number, details: string, protocol: HttpProtocol = 'HTTP/1.1'): void {
    if (!ctx.accessLog.enabled) return;
    ctx.accessLog.write({
      startTime: Date.now(),
      method: '-',
      path: '-',
      protocol,
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

  private onSocketClose(): void {
    const open = this.codec === null ? 0 : this.codec.onSocketClose();
    const stats = this.cxStats;
    stats.downstream_cx_active--;
    stats.downstream_cx_rx_bytes_total += this.socket.bytesRead;
    stats.downstream_cx_tx_bytes_total += this.socket.bytesWritten;
    if (open > 0) stats.downstream_cx_destroy_remote++;
    this.onClosed(this);
  }

  /** Drain: closes the connection if no request is in progress (HTTP/2: GOAWAY). */
  closeIfIdle(): void {
    if (this.codec !== null) this.codec.closeIfIdle();
    else {
      this.cxStats.downstream_cx_drain_close++;
      this.socket.end();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
