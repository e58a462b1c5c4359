/**
 * AuthorizationPolicy values -> Envoy matchers (proto3 JSON), as Istio writes them: a value
 * is exact `abc`, prefix `abc*`, suffix `*abc`, or presence `*` (non-empty: regex `.+`, or
 * `present_match` for a header). Principals get `spiffe://` in front; namespaces and service
 * accounts become regexes over the principal; hosts ignore case.
 */
import type { JsonObject } from '../envoy-json.js';

const quoteRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const regex = (re: string): JsonObject => ({ safe_regex: { regex: re } });

/** Istio's StringMatcher (exact, prefix `x*`, suffix `*x`, `*` -> `.+`), with an optional prefix on the value. */
export function stringMatcher(v: string, prefix = ''): JsonObject {
  if (v === '*') return regex('.+');
  if (v.endsWith('*')) return { prefix: prefix + v.slice(0, -1) };
  if (v.startsWith('*')) return prefix === '' ? { suffix: v.slice(1) } : regex(`${quoteRe(prefix)}.*${quoteRe(v.slice(1))}`);
  return { exact: prefix + v };
}

/** A header (`:method`, `request.headers[x]`): `*` is presence, otherwise a string match. */
export function headerMatcher(name: string, v: string): JsonObject {
  if (v === '*') return { name, present_match: true };
  return { name, string_match: stringMatcher(v) };
}

/** `:authority`: as a header, case-insensitive. */
export function hostMatcher(v: string): JsonObject {
  if (v === '*') return { name: ':authority', present_match: true };
  return { name: ':authority', string_match: { ...stringMatcher(v), ignore_case: true } };
}

/** A path, with Istio's `{*}` (one segment) and `{**}` (any rest) templates as a regex. */
export function pathMatcher(v: string): JsonObject {
  if (v.includes('{*}') || v.includes('{**}')) {
    const re = v.split(/(\{\*\*\}|\{\*\})/).map((p) => (p === '{**}' ? '.*' : p === '{*}' ? '[^/]+' : quoteRe(p))).join('');
    return { path: regex(re) };
  }
  return { path: stringMatcher(v) };
}

/** `10.0.0.0/8` or `1.2.3.4` -> CidrRange. */
export function cidrRange(v: string): JsonObject {
  const [ip, len] = v.split('/');
  return { address_prefix: ip, prefix_len: len !== undefined ? Number(len) : ip.includes(':') ? 128 : 32 };
}

export const principalName = (v: string): JsonObject => ({ authenticated: { principal_name: stringMatcher(v, 'spiffe://') } });
export const namespacePrincipal = (v: string): JsonObject => ({ authenticated: { principal_name: regex(`.*/ns/${v.replace(/\*/g, '.*')}/.*`) } });

/** `sa` or `ns/sa` (the policy's namespace when elided). */
export function serviceAccountPrincipal(policyNamespace: string, v: string): JsonObject {
  const slash = v.indexOf('/');
  const ns = slash < 0 ? policyNamespace : v.slice(0, slash);
  const sa = slash < 0 ? v : v.slice(slash + 1);
  return { authenticated: { principal_name: regex(`spiffe://.+/ns/${ns}/(.+/|)sa/${sa}(/.+)?`) } };
}

/** Where request authentication (`envoy.filters.http.jwt_authn`) leaves the verified token's payload. */
export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';
export const JWT_PAYLOAD_KEY = 'payload';

/** A metadata matcher on the token's payload at `claims` (`['iss']`, `['groups']`, `['a', 'b']`). */
function jwtClaim(claims: readonly string[], value: JsonObject): JsonObject {
  return { metadata: { filter: JWT_AUTHN_FILTER, path: [JWT_PAYLOAD_KEY, ...claims].map((key) => ({ key })), value } };
}

const ANY = regex('.+');

/**
 * A request principal `iss/sub` (split at the last `/`, the issuer may be a URL): both claims
 * must match. `*` is any; `*x` and `x*` apply to the issuer or subject as Istio reads them.
 */
export function requestPrincipal(v: string): JsonObject {
  const idx = v.lastIndexOf('/');
  const found = idx >= 0;
  const iss = found ? v.slice(0, idx) : v;
  const sub = found ? v.slice(idx + 1) : '';
  let mi: JsonObject;
  let ms: JsonObject;
  if (v === '*') [mi, ms] = [ANY, ANY];
  else if (v.startsWith('*')) {
    if (found) [mi, ms] = [iss === '*' ? ANY : { suffix: iss.slice(1) }, { exact: sub }];
    else [mi, ms] = [ANY, { suffix: v.slice(1) }];
  } else if (v.endsWith('*')) {
    if (found) [mi, ms] = [{ exact: iss }, sub === '*' ? ANY : { prefix: sub.slice(0, -1) }];
    else [mi, ms] = [{ prefix: v.slice(0, -1) }, ANY];
  } else [mi, ms] = [{ exact: iss }, { exact: sub }];
  return { and_ids: { ids: [jwtClaim(['iss'], { string_match: mi }), jwtClaim(['sub'], { string_match: ms })] } };
}

/** A claim that may be a string or a list (`aud`, `azp`, `groups`): any value matches either form. */
export function jwtClaimValues(claims: readonly string[], values: readonly string[]): JsonObject {
  const each = values.map((v) => ({ string_match: stringMatcher(v) }));
  const or: JsonObject = each.length === 1 ? each[0] : { or_match: { value_matchers: each } };
  return jwtClaim(claims, { or_match: { value_matchers: [{ list_match: { one_of: or } }, or] } });
}
