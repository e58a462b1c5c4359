/**
 * The writing half of the HTTP/1.1 server codec: neutral response heads, body data and
 * trailers to HTTP/1.1 bytes. It chooses the framing the client gets (the upstream's
 * content-length, else chunked, else the end of the connection for an HTTP/1.0 client),
 * adds `connection: close` when the connection ends after the response, and holds a head
 * back until the body bytes of the same read so both leave in one write (see
 * bench/README.md).
 */
import type net from 'node:net';
import type { HeaderList, ResponseHeaders } from '../headers.js';
import type { ResponseEncoder } from '../server-codec.js';
import { coalesce, COALESCE_MAX } from '../../coalesce.js';
import { headerLines, statusLine } from './http1-head-text.js';

const LAST_CHUNK = Buffer.from('0\r\n\r\n');

export abstract class Http1ServerEncoder implements Omit<ResponseEncoder, 'readDisable' | 'streamDone' | 'resetStream'> {
  /** HTTP minor version of the current request. */
  minor = 1;
  /** The client allows the connection to be reused (Connection header and version). */
  keepAlive = true;
  /** The connection ends after the current response. */
  closing = false;
  /** The current request is HEAD (its response has no body). */
  protected isHead = false;
  /** Request body bytes are still expected. */
  protected inBody = false;
  protected closed = false;
  private pendingHead: string | null = null;
  private chunkedOut = false;

  constructor(readonly socket: net.Socket) {}

  /** The proxy or listener is draining. */
  protected abstract get draining(): boolean;

  encodeHeaders(head: ResponseHeaders, endStream: boolean): number {
    if (this.closed) return 0;
    const status = head.status;
    const names = head.names;
    const values = head.values;
    let text = statusLine(status);
    let hasLength = false;
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (n === 'content-length') hasLength = true;
      text += `${n}: ${values[i]}\r\n`;
    }
    let chunked = false;
    let untilClose = false;
    if (endStream) {
      if (!hasLength && !this.isHead && status !== 204 && status !== 304) text += 'content-length: 0\r\n';
    } else if (!hasLength) {
      // No length known: chunks for HTTP/1.1; an HTTP/1.0 client reads until the connection ends.
      if (this.minor === 1) {
        chunked = true;
        text += 'transfer-encoding: chunked\r\n';
      } else untilClose = true;
    }
    // A response that starts while the request is still arriving ends the connection: the
    // client is told so now, as the rest of its body will not be read.
    if (untilClose || this.closing || !this.keepAlive || this.draining || this.inBody) {
      text += 'connection: close\r\n';
      this.closing = true;
    } else if (this.minor === 0) text += 'connection: keep-alive\r\n';
    text += '\r\n';
    this.chunkedOut = chunked;
    if (endStream) this.socket.write(text, 'latin1');
    else this.pendingHead = text;
    return text.length;
  }

  encodeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.closed) return true;
    const s = this.socket;
    const head = this.pendingHead;
    if (head !== null) this.pendingHead = null;
    if (this.chunkedOut) {
      if (chunk.length === 0) {
        if (!endStream) {
          if (head !== null) s.write(head, 'latin1');
          return true;
        }
        return head !== null ? this.writeHeadAndBody(head, LAST_CHUNK) : s.write(LAST_CHUNK);
      }
      if (head !== null) s.write(head, 'latin1');
      s.cork();
      s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      let ok = s.write('\r\n', 'latin1');
      if (endStream) ok = s.write(LAST_CHUNK);
      s.uncork();
      return ok;
    }
    if (head !== null) return chunk.length > 0 ? this.writeHeadAndBody(head, chunk) : s.write(head, 'latin1');
    return chunk.length > 0 ? s.write(chunk) : true;
  }

  encodeTrailers(trailers: HeaderList): void {
    if (!this.chunkedOut) {
      // Only chunked framing carries trailers: the response just ends.
      this.encodeData(LAST_CHUNK.subarray(0, 0), true);
      return;
    }
    if (this.closed) return;
    const head = this.pendingHead;
    this.pendingHead = null;
    const text = `0\r\n${headerLines(trailers.names, trailers.values)}\r\n`;
    this.socket.write(head === null ? text : head + text, 'latin1');
  }

  flush(): void {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      if (!this.closed) this.socket.write(head, 'latin1');
    }
  }

  closeAfterResponse(): void {
    this.closing = true;
  }

  /** Head and body in one write when the body is small (one syscall instead of two). */
  private writeHeadAndBody(head: string, body: Buffer): boolean {
    if (body.length <= COALESCE_MAX) return this.socket.write(coalesce(head, body));
    const s = this.socket;
    s.cork();
    s.write(head, 'latin1');
    const ok = s.write(body);
    s.uncork();
    return ok;
  }

  /** Forgets the response state (the next request starts clean). */
  protected resetResponse(): void {
    this.pendingHead = null;
    this.chunkedOut = false;
  }
}
