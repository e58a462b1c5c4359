/**
 * Request headers for an HTTP/2 upstream, RFC 9113 §8.2.2 and §8.3.1: pseudo-headers first;
 * no connection-specific field (`connection`, `keep-alive`, `proxy-connection`,
 * `transfer-encoding`, `upgrade`, `http2-settings`, nor any field `connection` names); `te` only
 * as `te: trailers` (which gRPC servers require, and Envoy keeps); `host` becomes `:authority`.
 * Names are lower-cased. Pure.
 */
import type { H2RequestHead, OutgoingH2Headers } from './h2-types.js';

const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'te']);

/** Does a `te` value list `trailers` (`te: trailers, deflate;q=0.5`)? */
export function teHasTrailers(value: string): boolean {
  for (const part of value.split(',')) {
    const token = part.split(';', 1)[0].trim().toLowerCase();
    if (token === 'trailers') return true;
  }
  return false;
}

/** A name HTTP/2 can carry (a token, RFC 9110 §5.1) and a value without CR, LF or NUL (RFC 9113 §8.2.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/**
 * The header object `ClientHttp2Session.request()` takes. Repeated fields become arrays (sent
 * as separate fields). Throws (naming the field) on a field HTTP/2 cannot carry.
 */
export function toH2RequestHeaders(head: H2RequestHead): OutgoingH2Headers {
  const nominated = new Set<string>();
  let host = '';
  let trailers = false;
  for (const [n, v] of head.headers) {
    const name = n.toLowerCase();
    if (name === 'connection') for (const t of v.split(',')) nominated.add(t.trim().toLowerCase());
    else if (name === 'host' && host === '') host = v;
    else if (name === 'te' && teHasTrailers(v)) trailers = true;
  }
  const out: OutgoingH2Headers = Object.create(null) as OutgoingH2Headers;
  out[':method'] = head.method;
  // A plain CONNECT carries :method and :authority only; extended CONNECT (RFC 8441) all four and :protocol.
  const plainConnect = head.method === 'CONNECT' && !head.protocol;
  if (!plainConnect) {
    out[':scheme'] = head.scheme;
    out[':path'] = head.path;
  }
  out[':authority'] = head.authority || host;
  if (head.protocol) {
    if (head.method !== 'CONNECT') throw new Error(`:protocol ${head.protocol} needs the CONNECT method (got ${head.method})`);
    out[':protocol'] = head.protocol;
  }
  for (const [n, v] of head.headers) {
    const name = n.toLowerCase();
    if (name.startsWith(':') || CONNECTION_SPECIFIC.has(name) || nominated.has(name)) continue;
    if (!TOKEN.test(name)) throw new Error(`header name ${JSON.stringify(n)} is not a token`);
    if (BAD_VALUE.test(v)) throw new Error(`header ${name}: the value contains CR, LF or NUL`);
    const prev = out[name];
    if (prev === undefined) out[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[name] = [String(prev), v];
  }
  if (trailers) out.te = 'trailers';
  return out;
}

/** Response header fields without pseudo-headers, and `:status` as a number. */
export function splitResponseHeaders(h: Record<string, string | string[] | number | undefined>): { status: number; headers: Record<string, string | string[]> } {
  const headers: Record<string, string | string[]> = {};
  let status = 0;
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (k === ':status') status = Number(v);
    else if (!k.startsWith(':') && v !== undefined) headers[k] = typeof v === 'number' ? String(v) : v;
  }
  return { status, headers };
}
