/** The HTTP/2 connection preface (RFC 9113 3.4): how `codec_type: AUTO` tells h2c from HTTP/1.1. */

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * 'h2' when `buf` starts with the whole preface, 'h1' as soon as it cannot (an HTTP/1.1
 * request line never matches past its first bytes), 'more' while it is a strict prefix.
 */
export function detectPreface(buf: Buffer): 'h2' | 'h1' | 'more' {
  const n = buf.length < H2_PREFACE.length ? buf.length : H2_PREFACE.length;
  for (let i = 0; i < n; i++) if (buf[i] !== H2_PREFACE[i]) return 'h1';
  return buf.length >= H2_PREFACE.length ? 'h2' : 'more';
}
