/**
 * Envoy's RBAC at run time (`envoy.filters.http.rbac`, `envoy.filters.network.rbac`): compiled
 * matchers and the engine that applies a rule set to one request or connection. Pure.
 */
import type { RequestView } from './runtime.js';

/** What a permission or principal can look at. */
export interface RbacInput {
  /** The request (HTTP filter); undefined on a connection (network filter): header and path rules never match. */
  readonly request: RequestView | undefined;
  /** The peer of the connection (`direct_remote_ip`, `source_ip`). */
  readonly directRemoteIp: string;
  /** The client as the connection manager sees it (`remote_ip`): the trusted x-forwarded-for entry, else the peer. */
  readonly remoteIp: string;
  /** The address the client reached (`destination_ip`, `destination_port`): the original destination when captured. */
  readonly localIp: string;
  readonly localPort: number;
  /** The client certificate's URI SAN (`spiffe://...`) when the connection is mutual TLS. */
  readonly principal: string | undefined;
  /** The TLS SNI the client asked for ('' without TLS). */
  readonly sni: string;
  /** Dynamic metadata by filter name (`metadata` rules): jwt_authn's verified payloads. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
}

export type RbacMatcher = (input: RbacInput) => boolean;

export interface RbacPolicyRt {
  readonly name: string;
  /** Any of the permissions. */
  readonly permissions: RbacMatcher;
  /** Any of the principals. */
  readonly principals: RbacMatcher;
}

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

/** One `envoy.config.rbac.v3.RBAC`: policies sorted by name, as Envoy keeps them. */
export interface RbacEngineRt {
  readonly action: RbacAction;
  readonly policies: readonly RbacPolicyRt[];
}

export interface RbacDecision {
  readonly allowed: boolean;
  /** The first policy (by name) that matched, if any. */
  readonly policy: string | undefined;
}

/** Envoy's RoleBasedAccessControlEngineImpl::handleAction. */
export function evaluateRbac(engine: RbacEngineRt, input: RbacInput): RbacDecision {
  let policy: string | undefined;
  for (const p of engine.policies) {
    if (p.permissions(input) && p.principals(input)) {
      policy = p.name;
      break;
    }
  }
  const matched = policy !== undefined;
  switch (engine.action) {
    case 'ALLOW':
      return { allowed: matched, policy };
    case 'DENY':
      return { allowed: !matched, policy };
    case 'LOG':
      return { allowed: true, policy };
  }
}

/** One RBAC filter: enforced rules (absent = nothing enforced) and shadow rules (stats only). */
export interface RbacFilterRt {
  readonly rules: RbacEngineRt | undefined;
  readonly shadowRules: RbacEngineRt | undefined;
  /**
   * Full stat prefixes, as Envoy's generateStats builds them: `http.<hcm>.rbac.<rules_stat_prefix>`
   * (HTTP), `<stat_prefix>rbac.` (network); the shadow one adds `shadow_rules_stat_prefix`.
   */
  readonly statPrefix: string;
  readonly shadowStatPrefix: string;
  /** The HTTP filter's connection manager stat prefix (a Prometheus label); undefined for the network filter. */
  readonly hcmStatPrefix?: string;
}

/** The body and details of a denied request, as Envoy's RBAC filter answers. */
export const RBAC_DENIED_BODY = 'RBAC: access denied';
export const rbacDeniedDetails = (policy: string | undefined): string => `rbac_access_denied_matched_policy[${policy === undefined ? 'none' : policy.replace(/\s/g, '_')}]`;
