/**
 * RequestAuthentications -> Envoy's `envoy.filters.http.jwt_authn` on a sidecar's inbound
 * HTTP listeners and a gateway's listeners, as Istio builds it. Every policy that applies (the root namespace's, the
 * proxy's namespace's, and those whose `selector` matches the workload) adds its `jwtRules`;
 * the rules, sorted by issuer, become providers `origins-0`, `origins-1`, ... Each provider
 * writes the verified payload to the metadata key `payload`, where the RBAC filters look for
 * `request.auth.*` (authz-matchers.ts).
 *
 * Requirement: a request without a token passes, one with a token must present a valid one.
 * One provider: `requires_any [provider, allow_missing]`; several: `requires_any [P0, P1, ...,
 * requires_all [any [P0, allow_missing], any [P1, allow_missing], ...]]` (the outer list lets
 * providers that share a token location pass with one token).
 *
 * `jwks` is inlined (`local_jwks`); `jwksUri` becomes `remote_jwks` fetched by the proxy (timeout
 * from the rule, 5 s by default; keys cached 5 minutes). A rule with neither has its `jwks_uri`
 * found by the control plane's OpenID discovery (`jwksUriOf`, security/openid-discovery.ts) and
 * then becomes `remote_jwks` too; until discovery succeeds (or without a resolver) the rule gets
 * an empty key set, so every token it verifies fails (fail closed, as Istio), and a warning.
 */
import type { JwtRule, RequestAuthentication } from '@minimesh/kube';
import { ROOT_NAMESPACE } from '../build-telemetry.js';
import type { MeshModel } from '../../model/mesh-model.js';
import type { ProxyIdentity } from '../../model/proxy-identity.js';
import { compact, protoDuration, type JsonObject } from '../envoy-json.js';
import type { InboundAuthz } from './build-authz.js';
import { JWT_AUTHN_FILTER, JWT_PAYLOAD_KEY } from './authz-matchers.js';
import type { JwksUriLookup } from '../../security/openid-discovery.js';

/** The control plane's OpenID discovery: an issuer's `jwks_uri` as known now (never waits). */
export type JwksUriOf = (issuer: string) => JwksUriLookup;

export const JWT_AUTHN_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const DEFAULT_JWKS_TIMEOUT = '5s';
const JWKS_CACHE_DURATION = '300s';
/** Claims whose space-separated string value Envoy turns into a list in the metadata. */
const SPACE_DELIMITED_CLAIMS = ['permission', 'scope'];

const nsOf = (p: RequestAuthentication): string => p.metadata.namespace ?? 'default';

/** The RequestAuthentications that apply to `proxy` (a sidecar or gateway), oldest first. */
export function applicableRequestAuthentications(model: MeshModel, proxy: ProxyIdentity): RequestAuthentication[] {
  const root = model.meshConfig?.rootNamespace ?? ROOT_NAMESPACE;
  return (model.requestAuthentications ?? []).filter((p) => {
    const spec = p.spec ?? {};
    if (spec.targetRef !== undefined || (spec.targetRefs ?? []).length > 0) return false;
    if (nsOf(p) !== root && nsOf(p) !== proxy.namespace) return false;
    // A selector in the root namespace still selects workloads mesh-wide, as for AuthorizationPolicy.
    return Object.entries(spec.selector?.matchLabels ?? {}).every(([k, v]) => proxy.labels[k] === v);
  });
}

/** `https://host:port/path` -> Istio's cluster name for it (`outbound|443||host`). */
export function jwksCluster(uri: string): string {
  const u = new URL(uri);
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
  return `outbound|${port}||${u.hostname}`;
}

const NO_KEYS: JsonObject = { local_jwks: { inline_string: '{"keys":[]}' } };

const remoteJwks = (uri: string, rule: JwtRule): JsonObject => ({
  remote_jwks: { http_uri: { uri, cluster: jwksCluster(uri), timeout: protoDuration(rule.timeout ?? DEFAULT_JWKS_TIMEOUT) }, cache_duration: JWKS_CACHE_DURATION },
});

/** A rule with only an issuer: the discovered `jwks_uri`, else no keys (fail closed) and a warning. */
function discoveredJwks(rule: JwtRule, warnings: string[], where: string, jwksUriOf: JwksUriOf | undefined): JsonObject {
  const issuer = JSON.stringify(rule.issuer);
  if (jwksUriOf === undefined) {
    warnings.push(`${where}: issuer ${issuer} has neither jwks nor jwksUri and OpenID discovery is not available here; its tokens are all rejected`);
    return NO_KEYS;
  }
  const found = jwksUriOf(rule.issuer);
  if (found.state === 'resolved') return remoteJwks(found.uri, rule);
  if (found.state === 'pending') warnings.push(`${where}: issuer ${issuer} has neither jwks nor jwksUri; its jwks_uri is being looked up by OpenID discovery, its tokens are rejected until then`);
  else warnings.push(`${where}: issuer ${issuer} has neither jwks nor jwksUri and OpenID discovery failed (${found.error}); its tokens are all rejected`);
  return NO_KEYS;
}

function provider(rule: JwtRule, warnings: string[], where: string, jwksUriOf: JwksUriOf | undefined): JsonObject {
  let jwks: JsonObject;
  if (rule.jwks !== undefined && rule.jwks !== '') jwks = { local_jwks: { inline_string: rule.jwks } };
  else if (rule.jwksUri !== undefined && rule.jwksUri !== '') jwks = remoteJwks(rule.jwksUri, rule);
  else jwks = discoveredJwks(rule, warnings, where, jwksUriOf);
  return compact({
    issuer: rule.issuer,
    audiences: rule.audiences !== undefined && rule.audiences.length > 0 ? rule.audiences : undefined,
    ...jwks,
    forward: rule.forwardOriginalToken === true ? true : undefined,
    from_headers: rule.fromHeaders?.map((h) => compact({ name: h.name, value_prefix: h.prefix || undefined })),
    from_params: rule.fromParams !== undefined && rule.fromParams.length > 0 ? rule.fromParams : undefined,
    from_cookies: rule.fromCookies !== undefined && rule.fromCookies.length > 0 ? rule.fromCookies : undefined,
    forward_payload_header: rule.outputPayloadToHeader || undefined,
    payload_in_metadata: JWT_PAYLOAD_KEY,
    normalize_payload_in_metadata: { space_delimited_claims: SPACE_DELIMITED_CLAIMS },
    claim_to_headers: rule.outputClaimToHeaders?.map((c) => ({ header_name: c.header, claim_name: c.claim })),
  });
}

const byProvider = (name: string): JsonObject => ({ provider_name: name });
const ALLOW_MISSING: JsonObject = { allow_missing: {} };

/** The `envoy.filters.http.jwt_authn` filter for `proxy`, or undefined when no RequestAuthentication applies. */
export function buildInboundJwtFilter(model: MeshModel, proxy: ProxyIdentity, warnings: string[], jwksUriOf?: JwksUriOf): JsonObject | undefined {
  const rules: { rule: JwtRule; where: string }[] = [];
  for (const p of applicableRequestAuthentications(model, proxy)) {
    for (const rule of p.spec?.jwtRules ?? []) rules.push({ rule, where: `RequestAuthentication ${nsOf(p)}/${p.metadata.name}` });
  }
  if (rules.length === 0) return undefined;
  // Stable sort by issuer, as Istio orders them.
  rules.sort((a, b) => (a.rule.issuer < b.rule.issuer ? -1 : a.rule.issuer > b.rule.issuer ? 1 : 0));
  const providers: JsonObject = {};
  const names = rules.map((r, i) => {
    const name = `origins-${i}`;
    providers[name] = provider(r.rule, warnings, r.where, jwksUriOf);
    return name;
  });
  const optional = (n: string): JsonObject => ({ requires_any: { requirements: [byProvider(n), ALLOW_MISSING] } });
  const requires = names.length === 1 ? optional(names[0]) : { requires_any: { requirements: [...names.map(byProvider), { requires_all: { requirements: names.map(optional) } }] } };
  return {
    name: JWT_AUTHN_FILTER,
    typed_config: { '@type': JWT_AUTHN_TYPE, providers, rules: [{ match: { prefix: '/' }, requires }], bypass_cors_preflight: true },
  };
}

/** The inbound filters with `jwt` in front of the RBAC filters (Istio's order: authn, then authz). */
export function withJwtFilter(authz: InboundAuthz, jwt: JsonObject | undefined): InboundAuthz {
  return jwt === undefined ? authz : { http: [jwt, ...authz.http], tcp: authz.tcp };
}
