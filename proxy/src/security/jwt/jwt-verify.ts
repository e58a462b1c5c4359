/**
 * One token checked against one provider, in Envoy's order: the form, the issuer, `exp` and
 * `nbf` (with the provider's clock skew, 60 s by default), the audiences, then the signature
 * against the provider's keys (jose: a local key set, or a remote one fetched over HTTP(S)
 * with the provider's timeout and kept for its cache duration).
 */
import { compactVerify, createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { JwksSourceRt, JwtProviderRt } from '@minimesh/config';
import { JWT_STATUS, type JwtStatus } from './jwt-status.js';

type KeySet = ReturnType<typeof createLocalJWKSet>;

/** Remote key sets outlive config updates: the same URI and timings share one fetcher (and its cache). */
const remoteSets = new Map<string, KeySet>();

export function keySetFor(src: JwksSourceRt): KeySet {
  if (src.kind === 'local') {
    let jwks: { keys: [] };
    try {
      jwks = JSON.parse(src.json) as { keys: [] };
    } catch {
      jwks = { keys: [] };
    }
    return createLocalJWKSet(jwks);
  }
  const key = `${src.uri}|${src.timeoutMs}|${src.cacheMs}`;
  let set = remoteSets.get(key);
  if (set === undefined) {
    set = createRemoteJWKSet(new URL(src.uri), { timeoutDuration: src.timeoutMs, cacheMaxAge: src.cacheMs, cooldownDuration: Math.min(30_000, src.cacheMs) }) as unknown as KeySet;
    remoteSets.set(key, set);
  }
  return set;
}

/** Envoy compares audiences without an http(s):// scheme or a trailing slash. */
const plainAudience = (a: string): string => a.replace(/^https?:\/\//, '').replace(/\/$/, '');

export type VerifyResult = { readonly status: typeof JWT_STATUS.Ok; readonly payload: JWTPayload } | { readonly status: Exclude<JwtStatus, typeof JWT_STATUS.Ok> };

/** The issuer a token claims, undefined when it cannot be read. */
export function tokenIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyToken(provider: JwtProviderRt, keys: KeySet, token: string, nowMs = Date.now()): Promise<VerifyResult> {
  if (token.split('.').length !== 3) return { status: JWT_STATUS.JwtBadFormat };
  let payload: JWTPayload;
  try {
    decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    return { status: JWT_STATUS.JwtBadFormat };
  }
  if (provider.issuer !== '' && typeof payload.iss === 'string' && payload.iss !== provider.issuer) return { status: JWT_STATUS.JwtUnknownIssuer };
  const now = nowMs / 1000;
  const skew = provider.clockSkewSeconds;
  if (typeof payload.nbf === 'number' && payload.nbf > now + skew) return { status: JWT_STATUS.JwtNotYetValid };
  if (typeof payload.exp === 'number' && now > payload.exp + skew) return { status: JWT_STATUS.JwtExpired };
  if (provider.audiences.length > 0) {
    const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const allowed = new Set(provider.audiences.map(plainAudience));
    if (!aud.some((a) => allowed.has(plainAudience(String(a))))) return { status: JWT_STATUS.JwtAudienceNotAllowed };
  }
  try {
    await compactVerify(token, keys);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWS_INVALID') return { status: JWT_STATUS.JwtVerificationFail };
    if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') return { status: JWT_STATUS.JwksKidAlgMismatch };
    if (code === 'ERR_JOSE_NOT_SUPPORTED' || code === 'ERR_JOSE_ALG_NOT_ALLOWED') return { status: JWT_STATUS.JwtHeaderNotImplementedAlg };
    if (provider.jwks.kind === 'remote') return { status: JWT_STATUS.JwksFetchFail };
    return { status: JWT_STATUS.JwtVerificationFail };
  }
  return { status: JWT_STATUS.Ok, payload };
}
