/** `envoy.filters.http.jwt_authn` (JwtAuthentication) -> JwtAuthnRt. */
import { TYPE_URL, unpackAny, type AnyLike, type JwtAuthentication, type JwtProvider, type JwtRequirement } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { durationMs } from './duration.js';
import { compileRouteMatch } from './compile-route-match.js';
import type { JwksSourceRt, JwtAuthnRt, JwtLocationRt, JwtProviderRt, JwtRequirementRt, JwtRuleRt } from './jwt-runtime.js';

export { JWT_AUTHN_FILTER } from './jwt-runtime.js';

const DEFAULT_LOCATIONS: readonly JwtLocationRt[] = [
  { kind: 'header', name: 'authorization', valuePrefix: 'Bearer ' },
  { kind: 'param', name: 'access_token' },
];

function compileJwks(p: JwtProvider, path: string, errors: Errors): JwksSourceRt {
  if (p.jwks_source_specifier === 'local_jwks' && p.local_jwks) {
    const ds = p.local_jwks;
    allowOnly(ds, join(path, 'local_jwks'), ['inline_string', 'inline_bytes'], errors, ['specifier']);
    const json = ds.inline_string ?? (ds.inline_bytes !== undefined ? Buffer.from(ds.inline_bytes).toString('utf8') : '');
    try {
      const parsed = JSON.parse(json) as { keys?: unknown };
      if (!Array.isArray(parsed.keys)) errors.add(join(path, 'local_jwks'), 'is not a JSON Web Key Set (no "keys" list)');
    } catch (e) {
      errors.add(join(path, 'local_jwks'), `is not JSON: ${(e as Error).message}`);
    }
    return { kind: 'local', json };
  }
  if (p.jwks_source_specifier === 'remote_jwks' && p.remote_jwks) {
    const r = p.remote_jwks;
    const rp = join(path, 'remote_jwks');
    allowOnly(r, rp, ['http_uri', 'cache_duration'], errors);
    allowOnly(r.http_uri, join(rp, 'http_uri'), ['uri', 'cluster', 'timeout'], errors, ['http_upstream_type']);
    const uri = r.http_uri?.uri ?? '';
    let ok = false;
    try {
      const u = new URL(uri);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) errors.add(join(join(rp, 'http_uri'), 'uri'), `${JSON.stringify(uri)} is not an http or https URL`);
    const timeoutMs = durationMs(r.http_uri?.timeout, 1000, join(join(rp, 'http_uri'), 'timeout'), errors);
    return { kind: 'remote', uri, timeoutMs: timeoutMs > 0 ? timeoutMs : 1000, cacheMs: durationMs(r.cache_duration, 300_000, join(rp, 'cache_duration'), errors) };
  }
  errors.add(path, 'local_jwks or remote_jwks is required');
  return { kind: 'local', json: '{"keys":[]}' };
}

function compileProvider(name: string, p: JwtProvider, path: string, errors: Errors): JwtProviderRt {
  allowOnly(
    p,
    path,
    ['issuer', 'audiences', 'remote_jwks', 'local_jwks', 'forward', 'from_headers', 'from_params', 'from_cookies', 'forward_payload_header', 'payload_in_metadata', 'normalize_payload_in_metadata', 'claim_to_headers', 'clock_skew_seconds', 'pad_forward_payload_header'],
    errors,
    ['jwks_source_specifier'],
  );
  const locations: JwtLocationRt[] = [];
  (p.from_headers ?? []).forEach((h, i) => {
    allowOnly(h, `${join(path, 'from_headers')}[${i}]`, ['name', 'value_prefix'], errors);
    if (!h.name) errors.add(`${join(path, 'from_headers')}[${i}].name`, 'must not be empty');
    locations.push({ kind: 'header', name: (h.name ?? '').toLowerCase(), valuePrefix: h.value_prefix ?? '' });
  });
  for (const q of p.from_params ?? []) locations.push({ kind: 'param', name: q });
  for (const c of p.from_cookies ?? []) locations.push({ kind: 'cookie', name: c });
  (p.claim_to_headers ?? []).forEach((c, i) => {
    if (!c.header_name || !c.claim_name) errors.add(`${join(path, 'claim_to_headers')}[${i}]`, 'header_name and claim_name are required');
  });
  return {
    name,
    issuer: p.issuer ?? '',
    audiences: p.audiences ?? [],
    jwks: compileJwks(p, path, errors),
    locations: locations.length > 0 ? locations : DEFAULT_LOCATIONS,
    forward: p.forward === true,
    ...(p.forward_payload_header ? { forwardPayloadHeader: p.forward_payload_header.toLowerCase() } : {}),
    ...(p.payload_in_metadata ? { payloadInMetadata: p.payload_in_metadata } : {}),
    spaceDelimitedClaims: p.normalize_payload_in_metadata?.space_delimited_claims ?? [],
    claimToHeaders: (p.claim_to_headers ?? []).map((c) => ({ header: (c.header_name ?? '').toLowerCase(), claim: c.claim_name ?? '' })),
    clockSkewSeconds: p.clock_skew_seconds ?? 60,
  };
}

function compileRequirement(r: JwtRequirement | undefined, path: string, errors: Errors, providers: ReadonlyMap<string, JwtProviderRt>): JwtRequirementRt | undefined {
  if (!r) return undefined;
  allowOnly(r, path, ['provider_name', 'requires_any', 'requires_all', 'allow_missing', 'allow_missing_or_failed'], errors, ['requires_type']);
  switch (r.requires_type) {
    case 'provider_name':
      if (!providers.has(r.provider_name ?? '')) errors.add(join(path, 'provider_name'), `no provider ${JSON.stringify(r.provider_name)}`);
      return { kind: 'provider', provider: r.provider_name ?? '' };
    case 'requires_any':
    case 'requires_all': {
      const list = (r.requires_type === 'requires_any' ? r.requires_any : r.requires_all)?.requirements ?? [];
      const lp = join(join(path, r.requires_type), 'requirements');
      if (list.length < 2) errors.add(lp, 'needs at least 2 requirements');
      const requirements = list.map((x, i) => compileRequirement(x, `${lp}[${i}]`, errors, providers)).filter((x): x is JwtRequirementRt => x !== undefined);
      return { kind: r.requires_type === 'requires_any' ? 'any' : 'all', requirements };
    }
    case 'allow_missing':
      return { kind: 'allow_missing' };
    case 'allow_missing_or_failed':
      return { kind: 'allow_missing_or_failed' };
    default:
      errors.add(path, 'a requirement is required');
      return undefined;
  }
}

export function compileJwtAuthn(any: AnyLike | undefined | null, path: string, errors: Errors): JwtAuthnRt | undefined {
  const p = join(path, 'typed_config');
  if (!any || any.type_url !== TYPE_URL.JwtAuthentication) {
    errors.add(p, `expected ${TYPE_URL.JwtAuthentication}`);
    return undefined;
  }
  const c = unpackAny<JwtAuthentication>(any);
  allowOnly(c, p, ['providers', 'rules', 'bypass_cors_preflight'], errors);
  const providers = new Map<string, JwtProviderRt>();
  for (const [name, pr] of Object.entries(c.providers ?? {})) providers.set(name, compileProvider(name, pr, join(join(p, 'providers'), name), errors));
  const rules: JwtRuleRt[] = [];
  (c.rules ?? []).forEach((r, i) => {
    const rp = `${join(p, 'rules')}[${i}]`;
    allowOnly(r, rp, ['match', 'requires'], errors, ['requirement_type']);
    const match = compileRouteMatch(r.match ?? undefined, join(rp, 'match'), errors);
    if (match) rules.push({ match, requires: compileRequirement(r.requires ?? undefined, join(rp, 'requires'), errors, providers) });
  });
  return { providers, rules, bypassCorsPreflight: c.bypass_cors_preflight === true };
}
