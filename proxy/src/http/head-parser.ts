/**
 * Parses the head (start line and header fields) of an HTTP/1.x message that is already
 * complete in a buffer: the caller found the blank line that ends it. Strict on purpose:
 * whatever could be read two ways by two parsers (request smuggling) is an error.
 *
 * Header names come out lower case, values with surrounding blanks trimmed, both as
 * latin1 strings so that every byte survives a round trip.
 */
import { HttpParseError } from './parse-error.js';
import type { HeaderList, RequestHeaders, ResponseHeaders } from './codec/headers.js';

export type { HeaderList } from './codec/headers.js';
export { getHeader, getJoinedHeader } from './codec/headers.js';

/** A CONNECT target: a host name, IPv4 or [IPv6] literal, then a port (1-65535 checked by shape). */
const AUTHORITY_FORM = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\]):[1-9]\d{0,4}$/;

/** RFC 9110 token characters (method and field names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters forbidden in a field value (HTAB is allowed). */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Characters forbidden in a request-target. */
const BAD_TARGET = /[\x00-\x20\x7f]/;

/**
 * An HTTP/1.x request head: the neutral head (its `authority` is filled in by the codec
 * from the target or the Host header) plus what only HTTP/1.x has.
 */
export interface RequestHead extends RequestHeaders {
  /** Path and query (origin-form). For absolute-form targets, the part after the authority. */
  readonly path: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: number;
  /** Authority from an absolute-form target, or '' (then the Host header applies). */
  readonly targetAuthority: string;
}

export interface ResponseHead extends ResponseHeaders {
  readonly minor: number;
}

function badRequest(message: string): HttpParseError {
  return new HttpParseError(400, 'http1.codec_error', message);
}

/** Parses header lines from `pos` to the end of `text` into `out`. */
export function parseFields(text: string, pos: number, out: HeaderList, maxHeaders: number): void {
  const end = text.length;
  while (pos < end) {
    let eol = text.indexOf('\r\n', pos);
    if (eol === -1) eol = end;
    const first = text.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) throw badRequest('obsolete line folding in header field');
    const colon = text.indexOf(':', pos);
    if (colon === -1 || colon > eol) throw badRequest('header line without a colon');
    const name = text.slice(pos, colon);
    if (!TOKEN.test(name)) throw badRequest(`invalid header name ${JSON.stringify(name)}`);
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (text.charCodeAt(vs) === 0x20 || text.charCodeAt(vs) === 0x09)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 0x20 || text.charCodeAt(ve - 1) === 0x09)) ve--;
    const value = text.slice(vs, ve);
    if (BAD_VALUE.test(value)) throw badRequest(`invalid character in the value of header ${name}`);
    if (out.names.length >= maxHeaders) {
      throw new HttpParseError(431, 'http1.too_many_headers', `more than ${maxHeaders} headers`);
    }
    out.names.push(name.toLowerCase());
    out.values.push(value);
    pos = eol + 2;
  }
}

/**
 * Parses a request head. `buf[start, end)` holds the start line and header lines, without
 * the final empty line.
 */
export function parseRequestHead(buf: Buffer, start: number, end: number, maxHeaders: number): RequestHead {
  const text = buf.toString('latin1', start, end);
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : text.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 > lineEnd) throw badRequest('malformed request line');
  const method = text.slice(0, sp1);
  if (!TOKEN.test(method)) throw badRequest(`invalid method ${JSON.stringify(method)}`);
  let target = text.slice(sp1 + 1, sp2);
  if (target.length === 0 || BAD_TARGET.test(target)) throw badRequest('invalid request target');
  const version = text.slice(sp2 + 1, lineEnd);
  let minor: number;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) {
    throw new HttpParseError(505, 'http1.codec_error', `unsupported protocol version ${version}`);
  } else throw badRequest('malformed request line');

  let targetAuthority = '';
  const c0 = target.charCodeAt(0);
  if (method === 'CONNECT') {
    // authority-form (RFC 9112 3.2.3): host:port and nothing else; no path.
    if (!AUTHORITY_FORM.test(target) || Number(target.slice(target.lastIndexOf(':') + 1)) > 65535) throw badRequest('invalid CONNECT target (expected host:port)');
    targetAuthority = target;
    target = '';
  } else if (c0 !== 0x2f /* / */) {
    if (target === '*' && method === 'OPTIONS') {
      // asterisk-form: kept as is
    } else {
      const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
      if (m === null) throw badRequest('invalid request target');
      targetAuthority = m[1];
      target = m[2] === '' ? '/' : m[2];
      if (target.charCodeAt(0) !== 0x2f) target = '/' + target;
    }
  }
  const head: RequestHead = { method, path: target, authority: targetAuthority, scheme: 'http', protocol: minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0', minor, targetAuthority, names: [], values: [] };
  if (lineEnd < text.length) parseFields(text, lineEnd + 2, head, maxHeaders);
  return head;
}

/** Parses a response head, as for requests. */
export function parseResponseHead(buf: Buffer, start: number, end: number, maxHeaders: number): ResponseHead {
  const text = buf.toString('latin1', start, end);
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (lineEnd < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(12) !== 0x20 && lineEnd > 12) {
    throw badRequest('malformed status line');
  }
  const minorCh = text.charCodeAt(7);
  if ((minorCh !== 0x30 && minorCh !== 0x31) || text.charCodeAt(8) !== 0x20) throw badRequest('malformed status line');
  const code = text.slice(9, 12);
  if (!/^[1-9]\d\d$/.test(code)) throw badRequest('malformed status code');
  const status = Number(code);
  const head: ResponseHead = { status, minor: minorCh - 0x30, names: [], values: [] };
  if (lineEnd < text.length) parseFields(text, lineEnd + 2, head, maxHeaders);
  return head;
}

/** How a message body is delimited. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export const NO_BODY: BodyFraming = { kind: 'none' };
const DIGITS = /^\d{1,15}$/;
const CHUNKED: BodyFraming = { kind: 'chunked' };
const CLOSE: BodyFraming = { kind: 'close' };

/**
 * Reads Content-Length and Transfer-Encoding (RFC 9112 section 6). Both together, differing
 * Content-Length values, or a coding other than chunked are errors: they are how requests
 * get smuggled past a proxy.
 */
export function bodyFraming(h: HeaderList, isRequest: boolean): BodyFraming {
  let cl: string | undefined;
  let te: string | undefined;
  /** Several Content-Length fields, or a list in one: collapsed into one before forwarding. */
  let collapse = false;
  const names = h.names;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (n === 'content-length') {
      const value = h.values[i];
      if (cl !== undefined) collapse = true;
      if (DIGITS.test(value)) {
        if (cl !== undefined && cl !== value) throw badRequest('differing content-length values');
        cl = value;
        continue;
      }
      collapse = true;
      // "5, 5" and repeated headers with one value are the same length; anything else is not.
      for (const part of value.split(',')) {
        const v = part.trim();
        if (!/^\d{1,15}$/.test(v)) throw badRequest(`invalid content-length ${JSON.stringify(h.values[i])}`);
        if (cl !== undefined && cl !== v) throw badRequest('differing content-length values');
        cl = v;
      }
    } else if (n === 'transfer-encoding') {
      te = te === undefined ? h.values[i] : `${te},${h.values[i]}`;
    }
  }
  if (te !== undefined) {
    if (cl !== undefined) throw badRequest('both content-length and transfer-encoding');
    if (te.trim().toLowerCase() !== 'chunked') {
      throw new HttpParseError(isRequest ? 501 : 502, 'http1.invalid_transfer_encoding', `unsupported transfer-encoding ${JSON.stringify(te)}`);
    }
    return CHUNKED;
  }
  if (cl !== undefined) {
    if (collapse) collapseContentLength(h, cl);
    const length = Number(cl);
    return length === 0 ? NO_BODY : { kind: 'length', length };
  }
  return isRequest ? NO_BODY : CLOSE;
}

/** Leaves one `content-length: N` where the message had several (RFC 9110 8.6: one value, sent once). */
function collapseContentLength(h: HeaderList, value: string): void {
  const names = h.names as string[];
  const values = h.values as string[];
  let kept = false;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== 'content-length') continue;
    if (!kept) {
      values[i] = value;
      kept = true;
    } else {
      names.splice(i, 1);
      values.splice(i, 1);
      i--;
    }
  }
}

/**
 * What is already wrong with a request head that has not ended yet (no blank line so far): a
 * bare LF where CRLF is required, or a complete request line without an HTTP version (HTTP/0.9).
 * Waiting for more would only hang the client; the codec answers 400 at once.
 */
export function partialRequestHeadError(buf: Buffer, start: number): HttpParseError | undefined {
  const lf = buf.indexOf(0x0a, start);
  if (lf === -1) return undefined;
  if (lf === start || buf[lf - 1] !== 0x0d) return badRequest('request line not ended by CRLF');
  const line = buf.toString('latin1', start, lf - 1);
  const sp1 = line.indexOf(' ');
  if (sp1 <= 0 || line.indexOf(' ', sp1 + 1) === -1) return badRequest('request line without an HTTP version (HTTP/0.9 is not supported)');
  for (let i = buf.indexOf(0x0a, lf + 1); i !== -1; i = buf.indexOf(0x0a, i + 1)) if (buf[i - 1] !== 0x0d) return badRequest('header line not ended by CRLF');
  return undefined;
}
