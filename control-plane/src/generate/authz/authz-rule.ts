/**
 * One AuthorizationPolicy rule -> one RBAC Policy `{permissions, principals}`, as Istio's
 * authz model builds it: each `from.source` is an `and_ids` principal and each `to.operation`
 * an `and_rules` permission (the lists are ORed); every `when` condition is ANDed into each of
 * them (source and request keys into principals, destination and connection keys into
 * permissions); inside an attribute the values are ORed (`or_ids` / `or_rules`) and `notX`
 * negates them (`not_id` / `not_rule`).
 *
 * On a TCP listener (`forTcp`) HTTP-only attributes (hosts, methods, paths, request
 * principals, request headers, request.auth.*) cannot be checked: for ALLOW the rule is
 * dropped (it allows less: `undefined` is returned), for DENY and AUDIT the attribute is left
 * out (the rule denies more).
 */
import type { AuthorizationCondition, AuthorizationOperation, AuthorizationRule, AuthorizationSource } from '@minimesh/kube';
import type { JsonObject } from '../envoy-json.js';
import { cidrRange, jwtClaimValues, requestPrincipal, headerMatcher, hostMatcher, namespacePrincipal, pathMatcher, principalName, serviceAccountPrincipal, stringMatcher } from './authz-matchers.js';

type Side = 'permission' | 'principal';

/** One attribute of a rule: its values (or notValues) as matchers. */
interface Attr {
  readonly side: Side;
  readonly httpOnly: boolean;
  readonly not: boolean;
  readonly matchers: JsonObject[];
}

type Gen = (v: string) => JsonObject;

function attr(side: Side, httpOnly: boolean, values: readonly string[] | undefined, notValues: readonly string[] | undefined, gen: Gen): Attr[] {
  const out: Attr[] = [];
  if (values !== undefined && values.length > 0) out.push({ side, httpOnly, not: false, matchers: values.map(gen) });
  if (notValues !== undefined && notValues.length > 0) out.push({ side, httpOnly, not: true, matchers: notValues.map(gen) });
  return out;
}

const port = (v: string): JsonObject => ({ destination_port: Number(v) });

/** An attribute whose values all go into one matcher (Istio's JWT claim matchers). */
function allValues(side: Side, httpOnly: boolean, w: AuthorizationCondition, gen: (values: readonly string[]) => JsonObject): Attr[] {
  const out: Attr[] = [];
  if (w.values !== undefined && w.values.length > 0) out.push({ side, httpOnly, not: false, matchers: [gen(w.values)] });
  if (w.notValues !== undefined && w.notValues.length > 0) out.push({ side, httpOnly, not: true, matchers: [gen(w.notValues)] });
  return out;
}

function sourceAttrs(s: AuthorizationSource, policyNs: string): Attr[] {
  return [
    ...attr('principal', false, s.principals, s.notPrincipals, principalName),
    ...attr('principal', true, s.requestPrincipals, s.notRequestPrincipals, requestPrincipal),
    ...attr('principal', false, s.namespaces, s.notNamespaces, namespacePrincipal),
    ...attr('principal', false, s.serviceAccounts, s.notServiceAccounts, (v) => serviceAccountPrincipal(policyNs, v)),
    ...attr('principal', false, s.ipBlocks, s.notIpBlocks, (v) => ({ direct_remote_ip: cidrRange(v) })),
    ...attr('principal', false, s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ({ remote_ip: cidrRange(v) })),
  ];
}

function operationAttrs(o: AuthorizationOperation): Attr[] {
  return [
    ...attr('permission', true, o.hosts, o.notHosts, (v) => ({ header: hostMatcher(v) })),
    ...attr('permission', false, o.ports, o.notPorts, port),
    ...attr('permission', true, o.methods, o.notMethods, (v) => ({ header: headerMatcher(':method', v) })),
    ...attr('permission', true, o.paths, o.notPaths, (v) => ({ url_path: pathMatcher(v) })),
  ];
}

/** `a[b][c]` -> ['b', 'c']. */
const bracketed = (s: string): string[] => [...s.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);

function conditionAttrs(w: AuthorizationCondition, policyNs: string): Attr[] {
  const k = w.key;
  const a = (side: Side, httpOnly: boolean, gen: Gen): Attr[] => attr(side, httpOnly, w.values, w.notValues, gen);
  if (k.startsWith('request.headers[')) return a('principal', true, (v) => ({ header: headerMatcher(bracketed(k)[0], v) }));
  if (k.startsWith('request.auth.claims[')) return allValues('principal', true, w, (vs) => jwtClaimValues(bracketed(k), vs));
  if (k.startsWith('experimental.envoy.filters.')) {
    const filter = k.slice('experimental.'.length, k.indexOf('['));
    return a('permission', false, (v) => ({ metadata: { filter, path: bracketed(k).map((key) => ({ key })), value: { string_match: stringMatcher(v) } } }));
  }
  switch (k) {
    case 'source.ip':
      return a('principal', false, (v) => ({ direct_remote_ip: cidrRange(v) }));
    case 'remote.ip':
      return a('principal', false, (v) => ({ remote_ip: cidrRange(v) }));
    case 'source.namespace':
      return a('principal', false, namespacePrincipal);
    case 'source.principal':
      return a('principal', false, principalName);
    case 'source.serviceAccount':
      return a('principal', false, (v) => serviceAccountPrincipal(policyNs, v));
    case 'request.auth.principal':
      return a('principal', true, requestPrincipal);
    case 'request.auth.audiences':
      return allValues('principal', true, w, (vs) => jwtClaimValues(['aud'], vs));
    case 'request.auth.presenter':
      return allValues('principal', true, w, (vs) => jwtClaimValues(['azp'], vs));
    case 'destination.ip':
      return a('permission', false, (v) => ({ destination_ip: cidrRange(v) }));
    case 'destination.port':
      return a('permission', false, port);
    case 'connection.sni':
      return a('permission', false, (v) => ({ requested_server_name: stringMatcher(v) }));
    default:
      return [];
  }
}

class HttpOnly extends Error {}

/** The attributes -> `and_ids` / `and_rules` of their or-lists; an empty list is `any`. */
function combine(side: Side, attrs: readonly Attr[], forTcp: boolean, dropOnHttpOnly: boolean): JsonObject {
  const parts: JsonObject[] = [];
  for (const a of attrs) {
    if (forTcp && a.httpOnly) {
      if (dropOnHttpOnly) throw new HttpOnly();
      continue;
    }
    const or = side === 'principal' ? { or_ids: { ids: a.matchers } } : { or_rules: { rules: a.matchers } };
    parts.push(a.not ? (side === 'principal' ? { not_id: or } : { not_rule: or }) : or);
  }
  if (parts.length === 0) parts.push({ any: true });
  return side === 'principal' ? { and_ids: { ids: parts } } : { and_rules: { rules: parts } };
}

/** The RBAC Policy of one rule, or undefined when a TCP ALLOW rule uses HTTP-only attributes. */
export function buildRulePolicy(rule: AuthorizationRule | null | undefined, policyNs: string, forTcp: boolean, allow: boolean): JsonObject | undefined {
  const when = (rule?.when ?? []).flatMap((w) => conditionAttrs(w, policyNs));
  const whenPrincipals = when.filter((a) => a.side === 'principal');
  const whenPermissions = when.filter((a) => a.side === 'permission');
  const sources = (rule?.from ?? []).map((f) => f.source ?? {});
  const operations = (rule?.to ?? []).map((t) => t.operation ?? {});
  const principalLists = sources.length === 0 ? [whenPrincipals] : sources.map((s) => [...sourceAttrs(s, policyNs), ...whenPrincipals]);
  const permissionLists = operations.length === 0 ? [whenPermissions] : operations.map((o) => [...operationAttrs(o), ...whenPermissions]);
  try {
    return {
      permissions: permissionLists.map((l) => combine('permission', l, forTcp, allow)),
      principals: principalLists.map((l) => combine('principal', l, forTcp, allow)),
    };
  } catch (e) {
    if (e instanceof HttpOnly) return undefined;
    throw e;
  }
}
