/**
 * JWT test material made with jose: RS256 and ES256 key pairs, their public key sets, signed
 * tokens, a JWKS served over real HTTP (counting fetches), and an app that echoes what it got.
 * Not a test file.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Apps } from './authz-sidecar.js';

export interface SigningKey {
  readonly alg: 'RS256' | 'ES256';
  readonly kid: string;
  readonly privateKey: Parameters<SignJWT['sign']>[0];
  readonly jwk: JWK;
}

export async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, jwk };
}

export const jwks = (...keys: SigningKey[]): string => JSON.stringify({ keys: keys.map((k) => k.jwk) });

/** A token signed by `key` (`exp` one hour ahead unless the claims say otherwise). */
export function token(key: SigningKey, claims: JWTPayload): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 3600, ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

interface TestLike {
  teardown(fn: () => void | Promise<void>): void;
}

/** A JWKS endpoint on loopback (answering after `delayMs`); `hits` counts fetches. */
export async function serveJwks(t: TestLike, body: string, delayMs = 0): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const s = http.createServer((req, res) => {
    hits++;
    res.setHeader('content-type', 'application/json');
    const timer = setTimeout(() => res.end(body), delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    s.closeAllConnections();
    s.close();
  });
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/jwks.json`, hits: () => hits };
}

/** What the echo app received. */
export interface Seen {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Apps whose HTTP server records each request's path and headers. */
export async function startEchoApps(t: TestLike): Promise<Apps & { requests: Seen[] }> {
  const requests: Seen[] = [];
  const seen: string[] = [];
  const h = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(req.url ?? '');
      requests.push({ url: req.url ?? '', headers: req.headers, body });
      res.end(`ok ${req.url}`);
    });
  });
  const e = net.createServer((sock) => sock.pipe(sock));
  await Promise.all([new Promise<void>((r) => h.listen(0, '127.0.0.1', r)), new Promise<void>((r) => e.listen(0, '127.0.0.1', r))]);
  t.teardown(() => {
    h.close();
    e.close();
  });
  return { httpPort: (h.address() as AddressInfo).port, tcpPort: (e.address() as AddressInfo).port, seen, requests };
}
