/**
 * Evaluates a header value's precompiled `%OPERATOR%` parts (header-format-runtime.ts in
 * @minimesh/config) against one request, as Envoy does for `*_headers_to_add`: an operator with
 * no value gives the empty string (and a value that ends up empty is not added, unless
 * `keep_empty_value`). Request-side mutations see no upstream host nor response yet.
 */
import { hostname } from 'node:os';
import type { HeaderFormatPart } from '@minimesh/config/header-format-runtime';
import type { DownstreamInfo } from '../http/downstream-info.js';
import { getHeader, type RequestHeaders, type ResponseHeaders } from '../http/codec/headers.js';
import { strftime } from './strftime.js';

/** What the operators read: the stream's state when the mutation is applied. */
export interface HeaderFormatSource {
  readonly downstream: DownstreamInfo;
  /** ms since the epoch. */
  readonly startTime: number;
  readonly request: RequestHeaders | undefined;
  /** The upstream's response head (response side). */
  readonly response: ResponseHeaders | undefined;
  /** `address:port` of the upstream host (response side). */
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  /** The response status (response side; 0 before). */
  readonly responseCode: number;
}

const HOSTNAME = hostname();

/** `1.2.3.4:80` -> `1.2.3.4`, `[::1]:80` -> `::1`. */
function withoutPort(a: string): string {
  if (a.startsWith('[')) {
    const e = a.indexOf(']');
    return e > 0 ? a.slice(1, e) : a;
  }
  const c = a.lastIndexOf(':');
  return c > 0 && a.indexOf(':') === c ? a.slice(0, c) : a;
}

function portOf(a: string): string {
  const c = a.lastIndexOf(':');
  return c > 0 && (a.startsWith('[') || a.indexOf(':') === c) ? a.slice(c + 1) : '';
}

const joinHostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

function requestHeader(h: RequestHeaders, name: string): string | undefined {
  switch (name) {
    case ':authority':
    case 'host':
      return h.authority === '' ? undefined : h.authority;
    case ':path':
      return h.path;
    case ':method':
      return h.method;
    case ':scheme':
      return h.scheme;
    default:
      return getHeader(h, name);
  }
}

function headerValue(part: { header?: string; altHeader?: string }, read: (n: string) => string | undefined): string {
  const v = read(part.header!);
  if (v !== undefined || part.altHeader === undefined) return v ?? '';
  return read(part.altHeader) ?? '';
}

function operatorValue(p: Extract<HeaderFormatPart, { kind: 'op' }>, s: HeaderFormatSource): string {
  const d = s.downstream;
  switch (p.op) {
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return joinHostPort(d.remoteAddress, d.remotePort);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return d.remoteAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return d.originalDst ?? d.localAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return withoutPort(d.originalDst ?? d.localAddress);
    case 'DOWNSTREAM_LOCAL_PORT':
      return portOf(d.originalDst ?? d.localAddress);
    case 'UPSTREAM_HOST':
    case 'UPSTREAM_REMOTE_ADDRESS':
      return s.upstreamHost ?? '';
    case 'UPSTREAM_CLUSTER':
      return s.upstreamCluster ?? '';
    case 'START_TIME':
      return p.timeFormat === undefined ? new Date(s.startTime).toISOString() : strftime(p.timeFormat, s.startTime);
    case 'PROTOCOL':
      return s.request?.protocol ?? '';
    case 'HOSTNAME':
      return HOSTNAME;
    case 'REQUESTED_SERVER_NAME':
      return d.requestedServerName ?? '';
    case 'DOWNSTREAM_PEER_URI_SAN':
      return d.peerPrincipal ?? '';
    case 'RESPONSE_CODE':
      return s.responseCode > 0 ? String(s.responseCode) : '';
    case 'REQ': {
      const req = s.request;
      return req === undefined ? '' : headerValue(p, (n) => requestHeader(req, n));
    }
    case 'RESP': {
      const resp = s.response;
      return resp === undefined ? '' : headerValue(p, (n) => getHeader(resp, n));
    }
  }
}

/** The value of a formatted header for this request. */
export function formatHeaderValue(parts: readonly HeaderFormatPart[], s: HeaderFormatSource | undefined): string {
  let out = '';
  for (const p of parts) {
    if (p.kind === 'literal') out += p.text;
    else if (s !== undefined) {
      const v = operatorValue(p, s);
      out += p.maxLength !== undefined && v.length > p.maxLength ? v.slice(0, p.maxLength) : v;
    }
  }
  return out;
}
