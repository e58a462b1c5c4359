/**
 * One HTTP/2 request stream as the connection manager sees it: node's ServerHttp2Stream
 * adapted to the neutral codec contract. Request headers, data, trailers and end go to the
 * stream's RequestDecoder; the response comes back as a neutral head, data and trailers.
 * Flow control is node's: a paused stream stops consuming, so no WINDOW_UPDATE goes out
 * and the client stops within its window; a full write buffer is `encodeData` false.
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { HeaderList, ResponseHeaders } from '../headers.js';
import type { RequestDecoder, ResponseEncoder } from '../server-codec.js';
import { h2HeadersFromList, listFromH2 } from './h2-headers.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** What a stream tells the session it belongs to. */
export interface H2StreamOwner {
  streamFinished(s: H2ServerStream): void;
}

export class H2ServerStream implements ResponseEncoder {
  decoder: RequestDecoder | null = null;
  /** The stream was counted and logged (streamDone). */
  private done = false;
  /** The response's last frame was sent (or asked for). */
  private ended = false;
  private requestEnded = false;
  private trailers: OutgoingHttpHeaders | null = null;
  /** The stream became a tunnel (extended CONNECT answered 200): its end is the tunnel's. */
  protected upgraded = false;

  constructor(
    private readonly owner: H2StreamOwner,
    readonly stream: ServerHttp2Stream,
    private readonly isHead: boolean,
    idleTimeoutMs: number,
    /** An extended CONNECT: its DATA is tunnel payload, left unread until the tunnel takes the stream. */
    connect = false,
  ) {
    if (connect) stream.pause();
    else {
      stream.on('data', (chunk: Buffer) => this.decoder?.decodeData(chunk));
      stream.on('trailers', (t: IncomingHttpHeaders) => this.decoder?.decodeTrailers(listFromH2(t)));
      stream.on('end', () => this.onRequestEnd());
    }
    stream.on('drain', () => {
      if (!this.upgraded) this.decoder?.onEncoderDrain();
    });
    stream.on('wantTrailers', () => this.onWantTrailers());
    stream.on('error', () => {});
    stream.on('close', () => this.onClose());
    if (idleTimeoutMs > 0) {
      stream.setTimeout(idleTimeoutMs);
      stream.on('timeout', () => this.decoder?.onIdleTimeout());
    }
  }

  /** The request had no body (END_STREAM on its HEADERS): its later 'end' is not news. */
  markRequestEnded(): void {
    this.requestEnded = true;
  }

  private onRequestEnd(): void {
    if (this.requestEnded) return;
    this.requestEnded = true;
    this.decoder?.decodeEnd();
  }

  private onClose(): void {
    if (!this.done && !this.upgraded) {
      this.decoder?.onResetStream();
      // A stream that never became a request (or whose decoder ignored the reset).
      if (!this.done) this.finish();
    }
  }

  private onWantTrailers(): void {
    const t = this.trailers;
    this.trailers = null;
    // Empty trailers end the stream with an empty DATA frame (node's way of END_STREAM).
    if (!this.stream.destroyed) this.stream.sendTrailers(t ?? {});
  }

  // ---- ResponseEncoder ----

  encodeHeaders(head: ResponseHeaders, endStream: boolean): number {
    const s = this.stream;
    if (s.destroyed || s.headersSent) return 0;
    const status = head.status;
    const out: OutgoingHttpHeaders = { ':status': status };
    const size = h2HeadersFromList(head, out) + 40;
    // No body may follow a HEAD request or these statuses: node ends such streams itself.
    const end = endStream || this.isHead || status === 204 || status === 205 || status === 304;
    if (end) this.ended = true;
    try {
      s.respond(out, { endStream: end, waitForTrailers: !end });
    } catch {
      // A header node refuses (bad value): the client's stream is reset.
      this.ended = true;
      s.close(NGHTTP2_INTERNAL_ERROR);
    }
    return size;
  }

  encodeData(chunk: Buffer, endStream: boolean): boolean {
    const s = this.stream;
    if (this.ended || s.destroyed) return true;
    let ok = true;
    if (chunk.length > 0) ok = s.write(chunk);
    if (endStream) {
      this.ended = true;
      s.end();
    }
    return ok;
  }

  encodeTrailers(trailers: HeaderList): void {
    const s = this.stream;
    if (this.ended || s.destroyed) return;
    const out: OutgoingHttpHeaders = {};
    h2HeadersFromList(trailers, out);
    this.trailers = out;
    this.ended = true;
    s.end();
  }

  flush(): void {}

  readDisable(disable: boolean): void {
    if (disable) this.stream.pause();
    else this.stream.resume();
  }

  closeAfterResponse(): void {}

  resetStream(): void {
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  streamDone(complete: boolean): void {
    if (this.done) return;
    if (!complete && !this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
    this.finish();
  }

  protected finish(): void {
    this.done = true;
    this.decoder = null;
    this.owner.streamFinished(this);
  }
}
