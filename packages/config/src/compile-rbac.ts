/**
 * Envoy's RBAC filters -> RbacFilterRt:
 *   envoy.filters.http.rbac     (http.rbac.v3.RBAC: rules, shadow_rules, rules_stat_prefix,
 *                                shadow_rules_stat_prefix, track_per_rule_stats)
 *   envoy.filters.network.rbac  (network.rbac.v3.RBAC: rules, shadow_rules, stat_prefix,
 *                                shadow_rules_stat_prefix, enforcement_type ONE_TIME_ON_FIRST_BYTE)
 * and `config.rbac.v3.RBAC` (action, policies) with every Permission and Principal rule but
 * `matcher`, `uri_template`, `filter_state`, and policy `condition`s (CEL), which are refused by name.
 */
import { TYPE_URL, unpackAny, type AnyLike, type HttpRbac, type NetworkRbac, type RbacRules, type RbacPermission, type RbacPrincipal, type CidrRange, type PathMatcher } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { compileCidr, plainAddress } from './cidr.js';
import { compileHeaderMatcher } from './compile-route-match.js';
import { matchHeader } from './route-match.js';
import { compileStringMatcher, matchString } from './string-matcher.js';
import { compileMetadataMatcher } from './compile-rbac-metadata.js';
import type { RbacAction, RbacEngineRt, RbacFilterRt, RbacInput, RbacMatcher, RbacPolicyRt } from './rbac-runtime.js';

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';

const NEVER: RbacMatcher = () => false;
const ALWAYS: RbacMatcher = () => true;

const anyOf = (ms: readonly RbacMatcher[]): RbacMatcher => (ms.length === 1 ? ms[0] : (i) => ms.some((m) => m(i)));
const allOf = (ms: readonly RbacMatcher[]): RbacMatcher => (ms.length === 1 ? ms[0] : (i) => ms.every((m) => m(i)));

function cidr(c: CidrRange | undefined, path: string, errors: Errors, pick: (i: RbacInput) => string): RbacMatcher {
  if (!c) {
    errors.add(path, 'a CIDR range is required');
    return NEVER;
  }
  allowOnly(c, path, ['address_prefix', 'prefix_len'], errors);
  const m = compileCidr(c.address_prefix ?? '', c.prefix_len?.value);
  if (typeof m === 'string') {
    errors.add(path, m);
    return NEVER;
  }
  return (i) => m(pick(i));
}

/** `url_path`: the path without query and fragment, matched as sent (after the connection manager's normalization). */
function urlPath(p: PathMatcher | undefined, path: string, errors: Errors): RbacMatcher {
  allowOnly(p, path, ['path'], errors, ['rule']);
  const sm = compileStringMatcher(p?.path, join(path, 'path'), errors);
  if (!sm) return NEVER;
  return (i) => {
    if (i.request === undefined) return false;
    const full = i.request.path;
    const end = full.search(/[?#]/);
    return matchString(sm, end < 0 ? full : full.slice(0, end));
  };
}

function header(h: RbacPermission['header'], path: string, errors: Errors): RbacMatcher {
  if (!h) return NEVER;
  const hm = compileHeaderMatcher(h, path, errors);
  if (!hm) return NEVER;
  return (i) => i.request !== undefined && matchHeader(hm, i.request);
}

function set<T>(s: { rules?: T[]; ids?: T[] } | undefined, key: 'rules' | 'ids', path: string, errors: Errors, each: (x: T, p: string) => RbacMatcher): RbacMatcher[] {
  allowOnly(s, path, [key], errors);
  const list = (s?.[key] ?? []) as T[];
  if (list.length === 0) errors.add(join(path, key), 'must hold at least one entry');
  return list.map((x, k) => each(x, `${join(path, key)}[${k}]`));
}

export function compilePermission(p: RbacPermission, path: string, errors: Errors): RbacMatcher {
  allowOnly(p, path, ['and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range', 'metadata', 'not_rule', 'requested_server_name'], errors, ['rule'], {
    matcher: 'permission matcher extensions are not supported by minimesh',
    uri_template: 'uri_template permissions are not supported by minimesh',
  });
  switch (p.rule) {
    case 'and_rules':
      return allOf(set(p.and_rules, 'rules', join(path, 'and_rules'), errors, (x: RbacPermission, q) => compilePermission(x, q, errors)));
    case 'or_rules':
      return anyOf(set(p.or_rules, 'rules', join(path, 'or_rules'), errors, (x: RbacPermission, q) => compilePermission(x, q, errors)));
    case 'any':
      if (p.any !== true) errors.add(join(path, 'any'), 'must be true');
      return ALWAYS;
    case 'header':
      return header(p.header, join(path, 'header'), errors);
    case 'url_path':
      return urlPath(p.url_path, join(path, 'url_path'), errors);
    case 'destination_ip':
      return cidr(p.destination_ip, join(path, 'destination_ip'), errors, (i) => i.localIp);
    case 'destination_port': {
      const port = p.destination_port ?? 0;
      if (port > 65535) errors.add(join(path, 'destination_port'), 'must be at most 65535');
      return (i) => i.localPort === port;
    }
    case 'destination_port_range': {
      const r = p.destination_port_range;
      const start = r?.start ?? 0;
      const end = r?.end ?? 0;
      if (!(start < end)) errors.add(join(path, 'destination_port_range'), 'start must be less than end');
      return (i) => i.localPort >= start && i.localPort < end;
    }
    case 'metadata':
      return compileMetadataMatcher(p.metadata, join(path, 'metadata'), errors);
    case 'not_rule': {
      if (!p.not_rule) return NEVER;
      const inner = compilePermission(p.not_rule, join(path, 'not_rule'), errors);
      return (i) => !inner(i);
    }
    case 'requested_server_name': {
      const sm = compileStringMatcher(p.requested_server_name, join(path, 'requested_server_name'), errors);
      return sm ? (i) => matchString(sm, i.sni) : NEVER;
    }
    default:
      errors.add(path, 'a permission rule is required (and_rules, or_rules, any, header, url_path, destination_ip, destination_port, destination_port_range, metadata, not_rule, requested_server_name)');
      return NEVER;
  }
}

export function compilePrincipal(p: RbacPrincipal, path: string, errors: Errors): RbacMatcher {
  allowOnly(p, path, ['and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'metadata', 'not_id'], errors, ['identifier'], {
    filter_state: 'filter_state principals are not supported by minimesh',
  });
  switch (p.identifier) {
    case 'and_ids':
      return allOf(set(p.and_ids, 'ids', join(path, 'and_ids'), errors, (x: RbacPrincipal, q) => compilePrincipal(x, q, errors)));
    case 'or_ids':
      return anyOf(set(p.or_ids, 'ids', join(path, 'or_ids'), errors, (x: RbacPrincipal, q) => compilePrincipal(x, q, errors)));
    case 'any':
      if (p.any !== true) errors.add(join(path, 'any'), 'must be true');
      return ALWAYS;
    case 'authenticated': {
      const ap = join(path, 'authenticated');
      allowOnly(p.authenticated, ap, ['principal_name'], errors);
      const pn = p.authenticated?.principal_name;
      if (!pn) return (i) => i.principal !== undefined;
      const sm = compileStringMatcher(pn, join(ap, 'principal_name'), errors);
      return sm ? (i) => i.principal !== undefined && matchString(sm, i.principal) : NEVER;
    }
    case 'source_ip':
      return cidr(p.source_ip, join(path, 'source_ip'), errors, (i) => i.directRemoteIp);
    case 'direct_remote_ip':
      return cidr(p.direct_remote_ip, join(path, 'direct_remote_ip'), errors, (i) => i.directRemoteIp);
    case 'remote_ip':
      return cidr(p.remote_ip, join(path, 'remote_ip'), errors, (i) => i.remoteIp);
    case 'header':
      return header(p.header, join(path, 'header'), errors);
    case 'url_path':
      return urlPath(p.url_path, join(path, 'url_path'), errors);
    case 'metadata':
      return compileMetadataMatcher(p.metadata, join(path, 'metadata'), errors);
    case 'not_id': {
      if (!p.not_id) return NEVER;
      const inner = compilePrincipal(p.not_id, join(path, 'not_id'), errors);
      return (i) => !inner(i);
    }
    default:
      errors.add(path, 'a principal identifier is required (and_ids, or_ids, any, authenticated, source_ip, direct_remote_ip, remote_ip, header, url_path, metadata, not_id)');
      return NEVER;
  }
}

const ACTIONS: readonly RbacAction[] = ['ALLOW', 'DENY', 'LOG'];

/** `config.rbac.v3.RBAC` -> an engine (policies in name order, as Envoy iterates them). */
export function compileRbacRules(r: RbacRules, path: string, errors: Errors): RbacEngineRt {
  allowOnly(r, path, ['action', 'policies'], errors, [], { audit_logging_options: 'RBAC audit loggers are not supported by minimesh' });
  const action = (r.action ?? 'ALLOW') as RbacAction;
  if (!ACTIONS.includes(action)) errors.add(join(path, 'action'), `must be one of ${ACTIONS.join(', ')} (got ${String(r.action)})`);
  const policies: RbacPolicyRt[] = [];
  for (const name of Object.keys(r.policies ?? {}).sort()) {
    const pol = r.policies![name];
    const pp = join(join(path, 'policies'), name);
    allowOnly(pol, pp, ['permissions', 'principals'], errors, ['expression_specifier'], {
      condition: 'CEL conditions are not supported by minimesh',
      checked_condition: 'CEL conditions are not supported by minimesh',
    });
    const perms = pol.permissions ?? [];
    const princ = pol.principals ?? [];
    if (perms.length === 0) errors.add(join(pp, 'permissions'), 'must hold at least one permission');
    if (princ.length === 0) errors.add(join(pp, 'principals'), 'must hold at least one principal');
    policies.push({
      name,
      permissions: perms.length === 0 ? NEVER : anyOf(perms.map((x, k) => compilePermission(x, `${join(pp, 'permissions')}[${k}]`, errors))),
      principals: princ.length === 0 ? NEVER : anyOf(princ.map((x, k) => compilePrincipal(x, `${join(pp, 'principals')}[${k}]`, errors))),
    });
  }
  return { action, policies };
}

/** `envoy.filters.http.rbac` of a connection manager whose stats live under `http.<hcmPrefix>.`. */
export function compileHttpRbac(any: AnyLike | undefined | null, path: string, errors: Errors, hcmPrefix: string): RbacFilterRt | undefined {
  if (!any || any.type_url !== TYPE_URL.HttpRbac) {
    errors.add(join(path, 'typed_config'), `expected ${TYPE_URL.HttpRbac}`);
    return undefined;
  }
  const c = unpackAny<HttpRbac>(any);
  const p = join(path, 'typed_config');
  allowOnly(c, p, ['rules', 'shadow_rules', 'rules_stat_prefix', 'shadow_rules_stat_prefix', 'track_per_rule_stats'], errors, ['rules_specifier', 'shadow_rules_specifier'], {
    matcher: 'the RBAC matcher tree is not supported by minimesh (use rules)',
    shadow_matcher: 'the RBAC matcher tree is not supported by minimesh (use shadow_rules)',
  });
  // Envoy's generateStats: `<prefix>rbac.` joined with rules_stat_prefix, then shadow_rules_stat_prefix.
  const rules = statJoin(`http.${hcmPrefix}.rbac.`, c.rules_stat_prefix ?? '');
  return {
    rules: c.rules ? compileRbacRules(c.rules, join(p, 'rules'), errors) : undefined,
    shadowRules: c.shadow_rules ? compileRbacRules(c.shadow_rules, join(p, 'shadow_rules'), errors) : undefined,
    statPrefix: rules,
    shadowStatPrefix: statJoin(rules, c.shadow_rules_stat_prefix ?? ''),
    hcmStatPrefix: hcmPrefix,
  };
}

/** `envoy.filters.network.rbac` (before tcp_proxy). */
export function compileNetworkRbac(any: AnyLike | undefined | null, path: string, errors: Errors): RbacFilterRt | undefined {
  if (!any || any.type_url !== TYPE_URL.NetworkRbac) {
    errors.add(join(path, 'typed_config'), `expected ${TYPE_URL.NetworkRbac}`);
    return undefined;
  }
  const c = unpackAny<NetworkRbac>(any);
  const p = join(path, 'typed_config');
  allowOnly(c, p, ['rules', 'shadow_rules', 'stat_prefix', 'shadow_rules_stat_prefix', 'enforcement_type'], errors, ['rules_specifier', 'shadow_rules_specifier'], {
    matcher: 'the RBAC matcher tree is not supported by minimesh (use rules)',
    shadow_matcher: 'the RBAC matcher tree is not supported by minimesh (use shadow_rules)',
  });
  if (!c.stat_prefix) errors.add(join(p, 'stat_prefix'), 'must not be empty');
  if (c.enforcement_type !== undefined && c.enforcement_type !== 'ONE_TIME_ON_FIRST_BYTE') errors.add(join(p, 'enforcement_type'), 'only ONE_TIME_ON_FIRST_BYTE is supported by minimesh');
  const rules = statJoin(statJoin(c.stat_prefix ?? '', ''), 'rbac.');
  return {
    rules: c.rules ? compileRbacRules(c.rules, join(p, 'rules'), errors) : undefined,
    shadowRules: c.shadow_rules ? compileRbacRules(c.shadow_rules, join(p, 'shadow_rules'), errors) : undefined,
    statPrefix: rules,
    shadowStatPrefix: statJoin(rules, c.shadow_rules_stat_prefix ?? ''),
  };
}

/** Envoy's statPrefixJoin: `a.` + `b` = `a.b`, `a` + `b` = `a.b`; an empty side adds nothing. */
function statJoin(a: string, b: string): string {
  if (a === '') return b;
  const base = a.endsWith('.') ? a : `${a}.`;
  return base + b;
}

export { plainAddress };
