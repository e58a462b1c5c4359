/**
 * An HTTP/2 extended CONNECT stream (RFC 8441, `:protocol websocket`) on a connection manager
 * whose `http2_protocol_options.allow_connect` is on: a request stream that can become a
 * tunnel. The router sees the request as an HTTP/1.1-style upgrade; when the upstream accepts
 * it, the answer goes out as `:status 200` (Envoy's transformUpgradeResponseFromH1toH2: a 101
 * becomes 200, `upgrade` and `connection` are not carried) and the stream itself is handed to
 * the tunnel, its DATA frames being the tunnel's bytes both ways. A refused request gets its
 * reply, then the stream is closed (RST_STREAM NO_ERROR once the reply is out), since the
 * client's side of it is never read.
 */
import http2, { type OutgoingHttpHeaders } from 'node:http2';
import type { ResponseHeaders } from '../headers.js';
import type { DownstreamUpgrade } from '../server-codec.js';
import { h2HeadersFromList } from './h2-headers.js';
import { H2ServerStream } from './h2-server-stream.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR } = http2.constants;

export class H2ConnectServerStream extends H2ServerStream {
  upgrade(head: ResponseHeaders): DownstreamUpgrade {
    const s = this.stream;
    this.upgraded = true;
    const out: OutgoingHttpHeaders = { ':status': head.status === 101 ? 200 : head.status };
    const size = h2HeadersFromList(head, out) + 40;
    if (!s.destroyed) {
      try {
        s.respond(out, { endStream: false });
      } catch {
        s.close(NGHTTP2_INTERNAL_ERROR);
      }
    }
    return { socket: s, pending: null, headBytes: size };
  }

  override streamDone(complete: boolean): void {
    super.streamDone(complete);
    if (!this.upgraded && !this.stream.destroyed) this.stream.close(NGHTTP2_NO_ERROR);
  }
}
