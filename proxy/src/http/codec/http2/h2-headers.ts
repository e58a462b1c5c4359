/**
 * HTTP/2 header blocks to neutral heads and back. nghttp2 has already checked a request
 * block (pseudo-headers present and first, names lower case, no connection-specific
 * header, `te` only `trailers`); what is left is the mapping: `:authority` (else Host) is
 * the authority, split `cookie` fields are joined again (RFC 9113 8.2.3), and what goes
 * out never carries a connection-specific header (RFC 9113 8.2.2).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { HeaderList, RequestHeaders } from '../headers.js';

/** Headers HTTP/2 forbids (RFC 9113 8.2.2); node refuses to send them. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** A request head from the stream's headers: the raw list (name, value, ...) when node gives it, else the object. */
export function requestHeadFromH2(headers: IncomingHttpHeaders, raw: readonly string[] | undefined): RequestHeaders {
  const names: string[] = [];
  const values: string[] = [];
  let method = '';
  let path = '';
  let scheme = 'http';
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  const add = (n: string, v: string): void => {
    if (n.charCodeAt(0) === 0x3a /* : */) {
      if (n === ':method') method = v;
      else if (n === ':path') path = v;
      else if (n === ':scheme') scheme = v;
      else if (n === ':authority') authority = v;
      return;
    }
    if (n === 'cookie') {
      cookie = cookie === undefined ? v : `${cookie}; ${v}`;
      return;
    }
    if (n === 'host' && host === undefined) host = v;
    names.push(n);
    values.push(v);
  };
  if (raw !== undefined) {
    for (let i = 0; i + 1 < raw.length; i += 2) add(raw[i], raw[i + 1]);
  } else {
    for (const n of Object.keys(headers)) {
      const v = headers[n];
      if (Array.isArray(v)) for (const x of v) add(n, x);
      else if (v !== undefined) add(n, String(v));
    }
  }
  if (cookie !== undefined) {
    names.push('cookie');
    values.push(cookie);
  }
  return { method, path, authority: authority ?? host ?? '', scheme, protocol: 'HTTP/2', names, values };
}

/**
 * An extended CONNECT (RFC 8441) in the form the router reads an upgrade in, as Envoy's codec
 * converts it (Utility::transformUpgradeRequestFromH2toH1): `GET`, `upgrade: <:protocol>` and
 * `connection: upgrade`; the path and the other fields stay.
 */
export function upgradeHeadFromConnect(head: RequestHeaders, protocol: string): RequestHeaders {
  const names = head.names.slice();
  const values = head.values.slice();
  names.push('upgrade', 'connection');
  values.push(protocol, 'upgrade');
  return { ...head, method: 'GET', names, values };
}

/** A header list (trailers) from a node headers object, pseudo-headers left out. */
export function listFromH2(headers: IncomingHttpHeaders): HeaderList {
  const names: string[] = [];
  const values: string[] = [];
  for (const n of Object.keys(headers)) {
    if (n.charCodeAt(0) === 0x3a) continue;
    const v = headers[n];
    if (Array.isArray(v)) {
      for (const x of v) {
        names.push(n);
        values.push(x);
      }
    } else if (v !== undefined) {
      names.push(n);
      values.push(String(v));
    }
  }
  return { names, values };
}

/**
 * A node headers object from a neutral list, connection-specific headers left out (and
 * `te` unless it is `trailers`). Returns its size as HPACK counts it (name + value + 32).
 */
export function h2HeadersFromList(list: HeaderList, out: OutgoingHttpHeaders): number {
  const names = list.names;
  const values = list.values;
  let size = 0;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    const v = values[i];
    if (CONNECTION_SPECIFIC.has(n) || (n === 'te' && v.toLowerCase() !== 'trailers')) continue;
    const prev = out[n];
    if (prev === undefined) out[n] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[n] = [String(prev), v];
    size += n.length + v.length + 32;
  }
  return size;
}
