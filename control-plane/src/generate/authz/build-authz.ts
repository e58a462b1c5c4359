/**
 * AuthorizationPolicies -> the RBAC filters of a sidecar's inbound listeners, as Istio builds
 * them: `envoy.filters.http.rbac` on HTTP ports and `envoy.filters.network.rbac` (stat prefix
 * `tcp.`) on TCP ports, one filter per action in Istio's order: CUSTOM (see below), AUDIT
 * (action LOG), DENY, ALLOW. A policy in the root namespace applies mesh-wide, one in the
 * proxy's namespace to that namespace, and a `selector` narrows either to the workloads whose
 * labels it matches. Policies with `targetRef(s)` attach to gateways and waypoints, never to a
 * sidecar. Each rule becomes the policy `ns[NS]-policy[NAME]-rule[I]`; a policy without rules
 * matches nothing (an ALLOW one so denies everything else: "allow-nothing").
 *
 * A policy annotated `istio.io/dry-run: "true"` goes to the filter's `shadow_rules` (stats
 * `...rbac.istio_dry_run_allow_shadow_denied`, ...): evaluated and counted, never enforced.
 *
 * `action: CUSTOM` needs an external authorizer, which minimesh does not run: like Istio with
 * a provider it cannot use, the requests the policy selects are denied (fail closed), and a
 * warning names the policy.
 */
import type { AuthorizationPolicy } from '@minimesh/kube';
import { ROOT_NAMESPACE } from '../build-telemetry.js';
import type { MeshModel } from '../../model/mesh-model.js';
import type { ProxyIdentity } from '../../model/proxy-identity.js';
import { compact, type JsonObject } from '../envoy-json.js';
import { buildRulePolicy } from './authz-rule.js';

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
export const HTTP_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
/** Istio's stat prefix of the network RBAC filter (`tcp.rbac.allowed`, ...). */
export const TCP_RBAC_STAT_PREFIX = 'tcp.';

/** The RBAC filters of one proxy's inbound listeners. */
export interface InboundAuthz {
  /** HTTP filters, to go after the metadata exchange and before the other filters. */
  readonly http: JsonObject[];
  /** Network filters, to go before the TCP metrics and tcp_proxy. */
  readonly tcp: JsonObject[];
}

export const NO_AUTHZ: InboundAuthz = { http: [], tcp: [] };

const nsOf = (p: AuthorizationPolicy): string => p.metadata.namespace ?? 'default';
const ref = (p: AuthorizationPolicy): string => `${nsOf(p)}/${p.metadata.name}`;

/** The policies that apply to `proxy` (a sidecar), oldest first. */
export function applicableAuthorizationPolicies(model: MeshModel, proxy: ProxyIdentity): AuthorizationPolicy[] {
  const root = model.meshConfig?.rootNamespace ?? ROOT_NAMESPACE;
  return model.authorizationPolicies.filter((p) => {
    const spec = p.spec ?? {};
    if (spec.targetRef !== undefined || (spec.targetRefs ?? []).length > 0) return false;
    if (nsOf(p) !== root && nsOf(p) !== proxy.namespace) return false;
    return Object.entries(spec.selector?.matchLabels ?? {}).every(([k, v]) => proxy.labels[k] === v);
  });
}

type Bucket = 'CUSTOM' | 'AUDIT' | 'DENY' | 'ALLOW';
const ORDER: readonly Bucket[] = ['CUSTOM', 'AUDIT', 'DENY', 'ALLOW'];
const RBAC_ACTION: Record<Bucket, string> = { CUSTOM: 'DENY', AUDIT: 'LOG', DENY: 'DENY', ALLOW: 'ALLOW' };

/** The `policies` map of one action's RBAC for HTTP or TCP. */
function policiesFor(list: readonly AuthorizationPolicy[], bucket: Bucket, forTcp: boolean): JsonObject {
  const out: JsonObject = {};
  for (const p of list) {
    const rules = p.spec?.rules ?? [];
    const base = `ns[${nsOf(p)}]-policy[${p.metadata.name}]`;
    const name = (i: number): string => (bucket === 'CUSTOM' ? `istio-ext-authz-${base}-rule[${i}]-deny-due-to-bad-CUSTOM-action` : `${base}-rule[${i}]`);
    if (rules.length === 0) {
      // No rules: a policy that matches nothing.
      out[name(0)] = { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };
      continue;
    }
    rules.forEach((r, i) => {
      const policy = buildRulePolicy(r, nsOf(p), forTcp, bucket === 'ALLOW');
      if (policy !== undefined) out[name(i)] = policy;
    });
  }
  return out;
}

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
const isDryRun = (p: AuthorizationPolicy): boolean => p.metadata.annotations?.[DRY_RUN_ANNOTATION]?.toLowerCase() === 'true';
const SHADOW_PREFIX: Partial<Record<Bucket, string>> = { ALLOW: 'istio_dry_run_allow_', DENY: 'istio_dry_run_deny_' };

function rbacConfig(list: readonly AuthorizationPolicy[], bucket: Bucket, forTcp: boolean): JsonObject {
  const enforced = list.filter((p) => !isDryRun(p));
  const dry = list.filter(isDryRun);
  const rules = enforced.length > 0 ? { action: RBAC_ACTION[bucket], policies: policiesFor(enforced, bucket, forTcp) } : undefined;
  const shadow = dry.length > 0 ? { shadow_rules: { action: RBAC_ACTION[bucket], policies: policiesFor(dry, bucket, forTcp) }, shadow_rules_stat_prefix: SHADOW_PREFIX[bucket] } : {};
  return compact(forTcp ? { '@type': NETWORK_RBAC_TYPE, rules, ...shadow, stat_prefix: TCP_RBAC_STAT_PREFIX } : { '@type': HTTP_RBAC_TYPE, rules, ...shadow });
}

/** The inbound RBAC filters for `proxy`; what cannot be honoured goes to `warnings`. */
export function buildInboundAuthz(model: MeshModel, proxy: ProxyIdentity, warnings: string[]): InboundAuthz {
  const policies = applicableAuthorizationPolicies(model, proxy);
  if (policies.length === 0) return NO_AUTHZ;
  const by = new Map<Bucket, AuthorizationPolicy[]>();
  for (const p of policies) {
    const action = (p.spec?.action ?? 'ALLOW') as Bucket;
    if (isDryRun(p) && SHADOW_PREFIX[action] === undefined) {
      warnings.push(`AuthorizationPolicy ${ref(p)}: ${DRY_RUN_ANNOTATION} is honoured for ALLOW and DENY only; this ${action} policy is ignored`);
      continue;
    }
    if (action === 'CUSTOM') {
      warnings.push(`AuthorizationPolicy ${ref(p)}: action CUSTOM (provider ${JSON.stringify(p.spec?.provider?.name ?? '')}) needs an external authorizer, which minimesh does not run; the requests it selects are denied`);
    }
    by.set(action, [...(by.get(action) ?? []), p]);
  }
  const http: JsonObject[] = [];
  const tcp: JsonObject[] = [];
  for (const bucket of ORDER) {
    const list = by.get(bucket);
    if (list === undefined) continue;
    http.push({ name: HTTP_RBAC_FILTER, typed_config: rbacConfig(list, bucket, false) });
    tcp.push({ name: NETWORK_RBAC_FILTER, typed_config: rbacConfig(list, bucket, true) });
  }
  return { http, tcp };
}
