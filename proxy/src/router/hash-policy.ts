/**
 * A request's consistent-hash key from its route's `hash_policy` (Envoy's HashPolicyImpl): each
 * policy that finds its input adds to the key (rotate-and-xor), a `terminal` one that found it
 * ends the list; none found: no key (the balancer picks at random). A cookie policy with a TTL
 * makes the cookie when the request has none, from the connection's two addresses (so requests
 * of one connection agree), and the response sets it: `name="value"; Max-Age=TTL; Path=P; HttpOnly`.
 */
import type { HashPolicyRt } from '@minimesh/config';
import { parseQuery } from '@minimesh/config';
import { getJoinedHeader, type RequestHeaders } from '../http/codec/headers.js';
import { combineHashes, hash32 } from '../upstream/lb/hash-key.js';

export interface RequestHash {
  readonly hash: number | undefined;
  /** A Set-Cookie value for the response, when a cookie policy made the cookie. */
  readonly setCookie?: string;
}

/** The value of cookie `name` in the Cookie header(s), or undefined. */
export function cookieValue(head: RequestHeaders, name: string): string | undefined {
  const cookies = getJoinedHeader(head, 'cookie');
  if (cookies === undefined) return undefined;
  for (const part of cookies.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}

export function requestHash(policies: readonly HashPolicyRt[], head: RequestHeaders, remoteAddress: string, localAddress: string): RequestHash {
  let hash: number | undefined;
  let setCookie: string | undefined;
  for (const p of policies) {
    let input: string | undefined;
    switch (p.kind) {
      case 'header':
        input = p.name === ':authority' || p.name === 'host' ? head.authority : getJoinedHeader(head, p.name);
        break;
      case 'source_ip':
        input = remoteAddress;
        break;
      case 'query': {
        const q = head.path.indexOf('?');
        input = q < 0 ? undefined : parseQuery(head.path.slice(q + 1).split('#')[0]).get(p.name);
        break;
      }
      case 'cookie':
        input = cookieValue(head, p.name);
        if (input === undefined && p.ttlMs !== undefined) {
          input = hash32(remoteAddress + localAddress).toString(16).padStart(8, '0');
          setCookie = `${p.name}="${input}"${p.ttlMs > 0 ? `; Max-Age=${Math.floor(p.ttlMs / 1000)}` : ''}${p.path ? `; Path=${p.path}` : ''}; HttpOnly`;
        }
        break;
    }
    if (input === undefined) continue;
    const h = hash32(input);
    hash = hash === undefined ? h : combineHashes(hash, h);
    if (p.terminal) break;
  }
  return setCookie === undefined ? { hash } : { hash, setCookie };
}

