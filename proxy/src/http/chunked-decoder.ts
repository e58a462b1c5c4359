/**
 * Follows the framing of a chunked body (RFC 9112 section 7.1) byte by byte, without
 * copying: it finds where the message ends and checks that the framing is sound. A chunk
 * size that is not hex, too large, or a chunk not followed by CRLF is an error (400), as
 * are oversized trailers.
 *
 * With `onData`, the decoded payload is handed out (views of the input, no copy); with
 * `collectTrailers`, the trailer fields are kept for `trailers()`. The codecs use both:
 * a body crosses the proxy as payload and trailers, and is framed again on the other side.
 */
import { HttpParseError } from './parse-error.js';
import { parseFields } from './head-parser.js';
import type { HeaderList } from './codec/headers.js';

const enum S {
  Size,
  SizeExt,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  EndLf,
  Done,
}

/** 13 hex digits stay below 2^53: a size is always exact. */
const MAX_SIZE_DIGITS = 13;
const MAX_TRAILER_BYTES = 16 * 1024;
/** Chunk extensions are not used by anyone the proxy serves; more than this is an attack. */
export const MAX_CHUNK_EXTENSION_BYTES = 4096;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** RFC 9110 token characters (field names). */
function isTokenChar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

function bad(message: string): HttpParseError {
  return new HttpParseError(400, 'http1.invalid_chunk', message);
}

export class ChunkedDecoder {
  private state = S.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private trailerBytes = 0;
  private trailerColon = false;
  private extensionBytes = 0;
  /** Payload bytes seen so far (decoded). */
  payloadBytes = 0;
  /** The trailer section's raw lines (with `collectTrailers`). */
  private trailerText = '';

  constructor(
    private readonly onData?: (chunk: Buffer) => void,
    private readonly collectTrailers = false,
  ) {}

  get done(): boolean {
    return this.state === S.Done;
  }

  /** Ready for the next message (a decoder is kept per connection). */
  reset(): void {
    this.state = S.Size;
    this.size = 0;
    this.digits = 0;
    this.remaining = 0;
    this.trailerBytes = 0;
    this.trailerColon = false;
    this.extensionBytes = 0;
    this.payloadBytes = 0;
    this.trailerText = '';
  }

  /** The trailer fields of a finished message (with `collectTrailers`), or null when it had none. */
  trailers(maxFields: number): HeaderList | null {
    if (this.trailerText === '') return null;
    const out: HeaderList = { names: [], values: [] };
    parseFields(this.trailerText, 0, out, maxFields);
    return out;
  }

  /**
   * Consumes `buf[start..]`. Returns the index just past the end of the message, or -1 if
   * the message continues past this buffer. Throws HttpParseError on bad framing.
   */
  consume(buf: Buffer, start: number): number {
    let i = start;
    const n = buf.length;
    // Where the trailer line being read starts in `buf` (-1: not in a trailer line, or not collecting).
    let seg = this.collectTrailers && (this.state === S.Trailer || this.state === S.TrailerLf) ? start : -1;
    while (i < n) {
      switch (this.state) {
        case S.Size: {
          const c = buf[i];
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) throw bad('chunk size too large');
            this.size = this.size * 16 + h;
            i++;
          } else if (this.digits === 0) {
            throw bad('invalid chunk size');
          } else if (c === 0x0d) {
            this.state = S.SizeLf;
            i++;
          } else if (c === 0x3b /* ; */) {
            this.state = S.SizeExt;
            i++;
          } else if (c === 0x20 || c === 0x09) {
            // blanks before an extension: tolerated as RFC 9112 BWS
            this.state = S.SizeExt;
            i++;
          } else throw bad('invalid chunk size');
          break;
        }
        case S.SizeExt: {
          const c = buf[i];
          if (c === 0x0d) {
            this.state = S.SizeLf;
            this.extensionBytes = 0;
          } else if (c === 0x0a || c === 0) throw bad('invalid chunk extension');
          else if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) throw bad(`chunk extension longer than ${MAX_CHUNK_EXTENSION_BYTES} bytes`);
          i++;
          break;
        }
        case S.SizeLf: {
          if (buf[i] !== 0x0a) throw bad('chunk size line not ended by CRLF');
          i++;
          if (this.size === 0) {
            this.state = S.TrailerStart;
          } else {
            this.remaining = this.size;
            this.state = S.Data;
          }
          this.size = 0;
          this.digits = 0;
          break;
        }
        case S.Data: {
          const take = Math.min(this.remaining, n - i);
          if (this.onData !== undefined) this.onData(buf.subarray(i, i + take));
          this.payloadBytes += take;
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (buf[i] !== 0x0d) throw bad('chunk data not followed by CRLF');
          this.state = S.DataLf;
          i++;
          break;
        case S.DataLf:
          if (buf[i] !== 0x0a) throw bad('chunk data not followed by CRLF');
          this.state = S.Size;
          i++;
          break;
        case S.TrailerStart: {
          const c = buf[i];
          if (c === 0x0d) {
            this.state = S.EndLf;
          } else if (isTokenChar(c)) {
            // A trailer field: name, colon, value, CRLF (RFC 9112 7.1.2).
            this.state = S.Trailer;
            this.trailerColon = false;
            this.trailerBytes++;
            if (this.collectTrailers) seg = i;
          } else throw bad('invalid trailer field');
          i++;
          break;
        }
        case S.Trailer: {
          const c = buf[i];
          if (++this.trailerBytes > MAX_TRAILER_BYTES) throw new HttpParseError(431, 'http1.headers_too_large', 'trailers too large');
          if (c === 0x0d) {
            if (!this.trailerColon) throw bad('trailer field without a colon');
            this.state = S.TrailerLf;
          } else if (c === 0x3a /* : */) this.trailerColon = true;
          else if (c === 0x0a || c === 0 || (!this.trailerColon && !isTokenChar(c))) throw bad('invalid character in trailer');
          i++;
          break;
        }
        case S.TrailerLf:
          if (buf[i] !== 0x0a) throw bad('trailer line not ended by CRLF');
          this.state = S.TrailerStart;
          i++;
          if (seg >= 0) {
            this.trailerText += buf.toString('latin1', seg, i);
            seg = -1;
          }
          break;
        case S.EndLf:
          if (buf[i] !== 0x0a) throw bad('chunked body not ended by CRLF');
          this.state = S.Done;
          return i + 1;
        case S.Done:
          return i;
      }
    }
    if (seg >= 0) this.trailerText += buf.toString('latin1', seg, n);
    return -1;
  }
}
