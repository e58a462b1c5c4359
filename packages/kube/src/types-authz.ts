/** The spec of `security.istio.io` AuthorizationPolicy (v1, v1beta1), as users write it. String values match
 * exactly, `prefix*`, `*suffix`, or `*` (any non-empty value). */
export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}
export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}
export interface AuthorizationCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}
export interface AuthorizationRule {
  from?: { source?: AuthorizationSource }[];
  to?: { operation?: AuthorizationOperation }[];
  when?: AuthorizationCondition[];
}
export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export interface PolicyTargetReference {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}
export interface AuthorizationPolicySpec {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  rules?: AuthorizationRule[];
  action?: AuthorizationAction;
  provider?: { name?: string };
}

/** The spec of `security.istio.io` PeerAuthentication (v1, v1beta1). Modes: UNSET, DISABLE, PERMISSIVE, STRICT. */
export interface PeerAuthenticationSpec {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: string };
  /** Keyed by the workload's port (only with a selector). */
  portLevelMtls?: Record<string, { mode?: string }>;
}
/** One `jwtRules` entry of a RequestAuthentication: an issuer whose tokens are verified. */
export interface JwtRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  /** An inline JSON Web Key Set (a JSON string). */
  jwks?: string;
  fromHeaders?: { name: string; prefix?: string }[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: { header: string; claim: string }[];
  /** How long to wait for `jwksUri` (a duration, `5s` by default). */
  timeout?: string;
}
/** The spec of `security.istio.io` RequestAuthentication (v1, v1beta1). */
export interface RequestAuthenticationSpec {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  jwtRules?: JwtRule[];
}
