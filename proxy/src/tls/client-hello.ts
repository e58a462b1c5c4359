/**
 * The TLS inspector (Envoy's `envoy.filters.listener.tls_inspector`): reads a connection's
 * first bytes without consuming them and says whether they are a TLS ClientHello, and if so
 * which server name (SNI) and application protocols (ALPN) it asks for. Pure functions over
 * the bytes read so far; the caller gives the bytes back to the socket afterwards.
 */

export type PeekResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'plain' }
  | { readonly kind: 'tls'; readonly serverName: string; readonly alpn: readonly string[] };

const MORE: PeekResult = { kind: 'more' };
const PLAIN: PeekResult = { kind: 'plain' };
/** A ClientHello larger than this is not inspected further (Envoy's default max is 64 KiB). */
export const MAX_CLIENT_HELLO = 64 * 1024;
const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/**
 * Looks at the bytes read so far. A ClientHello may span several TLS records: their
 * fragments are joined until the whole handshake message is there.
 */
export function peekClientHello(buf: Buffer): PeekResult {
  if (buf.length === 0) return MORE;
  if (buf[0] !== HANDSHAKE) return PLAIN;
  if (buf.length < 3) return MORE;
  if (buf[1] !== 0x03 || buf[2] > 0x04) return PLAIN;
  // Join the handshake fragments of consecutive records.
  const parts: Buffer[] = [];
  let have = 0;
  let off = 0;
  let need = -1;
  while (need < 0 || have < need) {
    if (buf.length < off + 5) return buf.length >= MAX_CLIENT_HELLO ? PLAIN : MORE;
    if (buf[off] !== HANDSHAKE) return PLAIN;
    const len = buf.readUInt16BE(off + 3);
    if (buf.length < off + 5 + len) return MORE;
    parts.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const first = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (first[0] !== CLIENT_HELLO) return PLAIN;
      need = 4 + first.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO) return PLAIN;
    }
  }
  const msg = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).subarray(4, need);
  return parseClientHelloBody(msg) ?? PLAIN;
}

/** The ClientHello body (after the 4-byte handshake header); undefined when malformed. */
function parseClientHelloBody(b: Buffer): PeekResult | undefined {
  let p = 2 + 32; // legacy_version, random
  if (b.length < p + 1) return undefined;
  p += 1 + b[p]; // session id
  if (b.length < p + 2) return undefined;
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (b.length < p + 1) return undefined;
  p += 1 + b[p]; // compression methods
  let serverName = '';
  let alpn: string[] = [];
  if (b.length < p + 2) return { kind: 'tls', serverName, alpn }; // no extensions
  const end = p + 2 + b.readUInt16BE(p);
  if (end > b.length) return undefined;
  p += 2;
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const data = b.subarray(p + 4, p + 4 + len);
    if (data.length !== len) return undefined;
    if (type === EXT_SERVER_NAME) serverName = parseServerName(data);
    else if (type === EXT_ALPN) alpn = parseAlpn(data);
    p += 4 + len;
  }
  return { kind: 'tls', serverName, alpn };
}

/** server_name_list: the first host_name entry, lower case. */
function parseServerName(d: Buffer): string {
  let p = 2;
  while (p + 3 <= d.length) {
    const type = d[p];
    const len = d.readUInt16BE(p + 1);
    if (type === 0 && p + 3 + len <= d.length) return d.toString('latin1', p + 3, p + 3 + len).toLowerCase();
    p += 3 + len;
  }
  return '';
}

/** protocol_name_list. */
function parseAlpn(d: Buffer): string[] {
  const out: string[] = [];
  let p = 2;
  while (p < d.length) {
    const len = d[p];
    if (p + 1 + len > d.length) break;
    out.push(d.toString('latin1', p + 1, p + 1 + len));
    p += 1 + len;
  }
  return out;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const MAX_REQUEST_LINE = 8 * 1024;

/**
 * Envoy's http_inspector on plaintext: the HTTP/2 preface is `h2c`, an HTTP/1.x request line
 * `http/1.1` (or `http/1.0`), anything else no protocol. 'more' while undecided.
 */
export function inspectHttp(buf: Buffer): readonly string[] | 'more' {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return buf.length >= H2_PREFACE.length ? ['h2c'] : 'more';
  const eol = buf.indexOf('\r\n');
  if (eol === -1) return buf.length > MAX_REQUEST_LINE || !/^[A-Z]*( |$)/.test(buf.toString('latin1', 0, Math.min(buf.length, 24))) ? [] : 'more';
  const line = buf.toString('latin1', 0, eol);
  const m = /^[A-Z]+ \S+ HTTP\/1\.([01])$/.exec(line);
  if (m === null) return [];
  return m[1] === '1' ? ['http/1.1'] : ['http/1.0'];
}
