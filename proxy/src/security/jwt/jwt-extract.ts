/**
 * Where jwt_authn finds tokens, as Envoy's extractor reads them: a header after its value
 * prefix (the default `Authorization: Bearer`, whose prefix matches in any case), a query
 * parameter, a cookie. A token runs from there to the first character a JWT cannot hold.
 */
import type { JwtLocationRt } from '@minimesh/config';
import { parseQuery } from '@minimesh/config';
import type { RequestHeaders } from '../../http/codec/headers.js';

/** A token and where it was found (so a verified one can be removed from there). */
export interface FoundToken {
  readonly token: string;
  readonly location: JwtLocationRt;
}

const JWT_CHAR = /[A-Za-z0-9\-_.+/=]/;

function tokenAt(value: string, start: number): string {
  let end = start;
  while (end < value.length && JWT_CHAR.test(value[end])) end++;
  return value.slice(start, end);
}

function fromHeader(head: RequestHeaders, name: string, prefix: string): string | undefined {
  for (let i = 0; i < head.names.length; i++) {
    if (head.names[i] !== name) continue;
    const value = head.values[i];
    if (prefix === '') return tokenAt(value.trim(), 0) || undefined;
    const caseless = name === 'authorization' && prefix.toLowerCase() === 'bearer ';
    const pos = caseless ? value.toLowerCase().indexOf('bearer ') : value.indexOf(prefix);
    if (pos >= 0) return tokenAt(value, pos + prefix.length) || undefined;
  }
  return undefined;
}

function queryOf(path: string): Map<string, string> {
  const q = path.indexOf('?');
  return parseQuery(q < 0 ? '' : path.slice(q + 1).split('#')[0]);
}

function fromCookie(head: RequestHeaders, name: string): string | undefined {
  for (let i = 0; i < head.names.length; i++) {
    if (head.names[i] !== 'cookie') continue;
    for (const part of head.values[i].split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
    }
  }
  return undefined;
}

/** The tokens at `locations`, first found first (one per location). */
export function extractTokens(head: RequestHeaders, locations: readonly JwtLocationRt[]): FoundToken[] {
  const out: FoundToken[] = [];
  let query: Map<string, string> | undefined;
  for (const location of locations) {
    let token: string | undefined;
    if (location.kind === 'header') token = fromHeader(head, location.name, location.valuePrefix);
    else if (location.kind === 'cookie') token = fromCookie(head, location.name);
    else {
      query ??= queryOf(head.path);
      token = query.get(location.name) || undefined;
    }
    if (token !== undefined) out.push({ token, location });
  }
  return out;
}

/** Removes a verified token from the request (a provider without `forward`). */
export function removeToken(head: RequestHeaders, found: FoundToken): void {
  const loc = found.location;
  if (loc.kind === 'header') {
    for (let i = head.names.length - 1; i >= 0; i--) {
      if (head.names[i] === loc.name) {
        head.names.splice(i, 1);
        head.values.splice(i, 1);
      }
    }
  } else if (loc.kind === 'param') {
    const q = head.path.indexOf('?');
    if (q < 0) return;
    const kept = head.path
      .slice(q + 1)
      .split('&')
      .filter((p) => decodeURIComponent(p.split('=')[0]) !== loc.name);
    (head as { path: string }).path = head.path.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '');
  }
}
