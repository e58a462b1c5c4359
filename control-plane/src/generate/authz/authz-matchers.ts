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

/** Dynamic metadata written by request authentication (`istio_authn`): JWT principal, audiences, presenter, claims. */
export function authnMetadata(path: readonly string[], v: string, list = false): JsonObject {
  const sm = { string_match: stringMatcher(v) };
  return { metadata: { filter: 'istio_authn', path: path.map((key) => ({ key })), value: list ? { list_match: { one_of: sm } } : sm } };
}
