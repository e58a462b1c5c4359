/** Writes a request's body bytes on an HTTP/1.1 upstream connection (with the held request head, if any). */
import type net from 'node:net';
import { coalesce, COALESCE_MAX } from '../../http/coalesce.js';

const LAST_CHUNK = '0\r\n\r\n';

/**
 * Writes `chunk` (and `head`, the request head held until the first body bytes), chunked or
 * as is; `endStream` ends a chunked body. Returns what the last write returned (backpressure).
 */
export function writeRequestBody(s: net.Socket, head: string | null, chunk: Buffer, endStream: boolean, chunked: boolean): boolean {
  let ok = true;
  if (chunked) {
    s.cork();
    if (head !== null) s.write(head, 'latin1');
    if (chunk.length > 0) {
      s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      ok = s.write('\r\n', 'latin1');
    }
    if (endStream) ok = s.write(LAST_CHUNK, 'latin1');
    s.uncork();
  } else if (head !== null) {
    if (chunk.length === 0) ok = s.write(head, 'latin1');
    else if (chunk.length <= COALESCE_MAX) ok = s.write(coalesce(head, chunk));
    else {
      s.cork();
      s.write(head, 'latin1');
      ok = s.write(chunk);
      s.uncork();
    }
  } else if (chunk.length > 0) ok = s.write(chunk);
  return ok;
}
