/**
 * Protocol sniffing for ports the config does not name: HTTP/1.x is recognised from the
 * request line ("METHOD SP target SP HTTP/1.x"), HTTP/2 from its connection preface (prior
 * knowledge h2c, as gRPC clients send it), anything else is TCP.
 */

/** RFC 9113 3.4: what every HTTP/2 client sends first. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
const LONGEST_METHOD = 8;

export type Sniffed = 'http' | 'h2' | 'tcp' | 'more';

/** Classifies the first bytes of a connection; 'more' = cannot tell yet. */
export function sniffProtocol(buf: Buffer): Sniffed {
  if (buf.length > 0 && buf[0] === 0x50 /* P */) {
    const n = Math.min(buf.length, H2_PREFACE.length);
    if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return n === H2_PREFACE.length ? 'h2' : 'more';
  }
  const space = buf.indexOf(0x20);
  if (space === -1) {
    if (buf.length > LONGEST_METHOD) return 'tcp';
    const start = buf.toString('latin1');
    return METHODS.some((m) => m.startsWith(start)) ? 'more' : 'tcp';
  }
  if (!METHODS.includes(buf.toString('latin1', 0, space))) return 'tcp';
  const eol = buf.indexOf('\r\n');
  if (eol === -1) return buf.length > 8192 ? 'tcp' : 'more';
  return /^ \S+ HTTP\/1\.[01]$/.test(buf.toString('latin1', space, eol)) ? 'http' : 'tcp';
}

/** The end of the request head (index after CRLFCRLF), or -1. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n');
  return i === -1 ? -1 : i + 4;
}

/** The Host header of a complete request head ('' when absent). */
export function hostHeader(head: Buffer): string {
  const text = head.toString('latin1');
  const m = /\r\nhost:[ \t]*([^\r\n]*)/i.exec(text);
  return m ? m[1].trim() : '';
}
