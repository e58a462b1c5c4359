/**
 * The HTTP/2 server codec: node's HTTP/2 session on a client connection (h2c with prior
 * knowledge, or AUTO after the preface was seen), with the connection manager's
 * `http2_protocol_options` as its SETTINGS. Each request stream becomes a neutral stream
 * (H2ServerStream); the connection-level protocol (SETTINGS, flow-control windows, HPACK,
 * GOAWAY, limits on header size, header count, concurrent streams, rejected streams and
 * resets) is node's and nghttp2's, so malformed frames end in RST_STREAM or GOAWAY and
 * never reach a stream.
 */
import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { HcmContext } from '../../hcm-context.js';
import type { ServerCodecCallbacks, ServerConnection } from '../server-codec.js';
import { requestHeadFromH2, upgradeHeadFromConnect } from './h2-headers.js';
import { H2ServerStream, type H2StreamOwner } from './h2-server-stream.js';
import { H2ConnectServerStream } from './h2-connect-stream.js';
import { underscoreHeadersAllowed } from '../underscore-headers.js';

/** A request's pseudo-headers and fields beyond `max_headers_count`. */
const PSEUDO_HEADERS = 4;
const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_PROTOCOL_ERROR } = http2.constants;

/** Bytes of the names and values of a raw header list (what max_request_headers_kb counts). */
function headerListBytes(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += raw[i].length;
  return n;
}

export class H2ServerCodec implements ServerConnection, H2StreamOwner {
  private readonly session: ServerHttp2Session;
  private readonly streams = new Set<H2ServerStream>();
  private goaway = false;

  constructor(
    socket: net.Socket,
    private readonly cm: ServerCodecCallbacks,
  ) {
    const ctx = cm.currentCtx;
    const hcm = ctx.hcm;
    const h2 = hcm.http2;
    this.session = http2.performServerHandshake(socket, {
      settings: {
        maxConcurrentStreams: h2.maxConcurrentStreams,
        initialWindowSize: h2.initialStreamWindowSize,
        maxHeaderListSize: hcm.maxRequestHeadersBytes,
        enablePush: false,
        // allow_connect: SETTINGS_ENABLE_CONNECT_PROTOCOL, as Envoy advertises it. Without it a
        // client that sends `:protocol` anyway gets RST_STREAM PROTOCOL_ERROR from nghttp2 (a
        // stream error, like every malformed request here; Envoy by default ends the connection).
        ...(h2.allowConnect ? { enableConnectProtocol: true } : {}),
      },
      maxHeaderListPairs: hcm.maxHeadersCount + PSEUDO_HEADERS,
    });
    const session = this.session;
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw?: string[]) => this.onStream(stream, headers, raw));
    session.on('error', () => ctx.stats.downstream_cx_protocol_error++);
    session.on('frameError', () => {});
    session.once('connect', () => {
      // The connection window grows from the protocol's 65535 to the configured size.
      if (h2.initialConnectionWindowSize > 65_535 && !session.destroyed) session.setLocalWindowSize(h2.initialConnectionWindowSize);
    });
    if (hcm.idleTimeoutMs > 0) {
      session.setTimeout(hcm.idleTimeoutMs);
      session.on('timeout', () => this.onIdle(ctx));
    }
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[] | undefined): void {
    const ctx: HcmContext = this.cm.currentCtx;
    const list = Array.isArray(raw) ? raw : undefined;
    if (list !== undefined && headerListBytes(list) > ctx.hcm.maxRequestHeadersBytes) {
      // nghttp2 enforces SETTINGS_MAX_HEADER_LIST_SIZE once the client acknowledged it;
      // before that, this does (the same stream error node sends).
      ctx.stats.downstream_rq_too_large++;
      stream.on('error', () => {});
      stream.close(NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    let head = requestHeadFromH2(headers, list);
    if (!underscoreHeadersAllowed(ctx.hcm, head, ctx.codecStats?.http2)) {
      // Envoy's REJECT_REQUEST on HTTP/2: the stream is reset.
      stream.on('error', () => {});
      stream.close(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    const protocol = headers[':protocol'];
    // An extended CONNECT (only possible with allow_connect) reaches the router as an upgrade
    // request without a body: its DATA frames are the tunnel's.
    const connect = typeof protocol === 'string' && head.method === 'CONNECT' && ctx.hcm.http2.allowConnect;
    let s: H2ServerStream;
    if (connect) {
      head = upgradeHeadFromConnect(head, protocol);
      s = new H2ConnectServerStream(this, stream, false, ctx.hcm.streamIdleTimeoutMs, true);
    } else s = new H2ServerStream(this, stream, head.method === 'HEAD', ctx.hcm.streamIdleTimeoutMs);
    this.streams.add(s);
    const decoder = this.cm.newStream(s, ctx);
    s.decoder = decoder;
    const endStream = connect || stream.endAfterHeaders;
    if (endStream) s.markRequestEnded();
    else if (headers.expect === '100-continue') {
      // Envoy answers Expect itself (the router does not forward it).
      stream.additionalHeaders({ ':status': 100 });
    }
    decoder.decodeHeaders(head, endStream);
  }

  streamFinished(s: H2ServerStream): void {
    this.streams.delete(s);
    // Draining: no new streams (GOAWAY); the connection closes once the open ones are done.
    if (this.cm.draining) this.sendGoaway();
  }

  private onIdle(ctx: HcmContext): void {
    if (this.streams.size > 0 || this.session.destroyed) return;
    ctx.stats.downstream_cx_idle_timeout++;
    this.session.close();
  }

  private sendGoaway(): void {
    if (this.goaway || this.session.destroyed) return;
    this.goaway = true;
    this.cm.cxStats.downstream_cx_drain_close++;
    this.session.close();
  }

  closeIfIdle(): void {
    // HTTP/2 drains gracefully: GOAWAY now, open streams finish, then the connection closes.
    this.sendGoaway();
  }

  onSocketClose(): number {
    // node resets the session's streams itself; each reports its reset to its decoder.
    return this.streams.size;
  }
}
