/**
 * The HTTP connection manager of one client connection (Envoy's ConnectionManagerImpl):
 * it puts a codec on the socket, makes a stream for each request the codec reads, counts
 * the connection, gives the streams what they need to know about it (addresses, the
 * original destination, draining) and logs the replies the codec makes without a stream.
 * Everything it does is protocol-neutral; the wire format is the codec's.
 */
import type net from 'node:net';
import type { HcmContext, ProxyState } from './hcm-context.js';
import type { RequestDecoder, ResponseEncoder, ServerCodecCallbacks } from './codec/server-codec.js';
import type { ResponseHeaders } from './codec/headers.js';
import { Http1ServerCodec } from './codec/http1/http1-server-codec.js';
import { RouterStream } from '../router/router-stream.js';
import { localReplyHead } from './local-reply-head.js';
import { formatFlags } from '../router/response-flags.js';

/** How a listener hands its current config to a new request. */
export interface ListenerHandle {
  readonly ctx: HcmContext;
  readonly proxy: ProxyState;
  /** This listener was removed or replaced: its connections close after their response. */
  readonly draining: boolean;
}

export class HttpConnectionManager implements ServerCodecCallbacks {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly cxStats: HcmContext['stats'];
  private readonly codec: Http1ServerCodec;

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
    this.codec = new Http1ServerCodec(socket, this);
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

  connectionReplyHead(ctx: HcmContext, status: number, body: string): ResponseHeaders {
    return localReplyHead(ctx, status, body, undefined);
  }

  logConnectionReply(ctx: HcmContext, status: number, flags: number, details: string): void {
    if (!ctx.accessLog.enabled) return;
    ctx.accessLog.write({
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

  onConnectionClose(bytesRead: number, bytesWritten: number, streamOpen: boolean): void {
    const stats = this.cxStats;
    stats.downstream_cx_active--;
    stats.downstream_cx_rx_bytes_total += bytesRead;
    stats.downstream_cx_tx_bytes_total += bytesWritten;
    if (streamOpen) stats.downstream_cx_destroy_remote++;
    this.onClosed(this);
  }

  /** Closes the connection if no request is in progress (drain). */
  closeIfIdle(): void {
    this.codec.closeIfIdle();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
