/** One validator per kind: `validateResource(obj)` -> the resource, typed, or the issues at fault. */
import { isObject } from './check.js';
import { IssueCollector, type ResourceIssue } from './issues.js';
import { API_VERSIONS, isKnownKind, type KubeResource } from './types.js';
import { validateDeployment, validateEndpoints, validateEndpointSlice, validateMetadata, validatePod, validateServiceSpec } from './validate-kube.js';
import { validateTelemetrySpec } from './validate-telemetry.js';
import { validateAuthorizationPolicySpec } from './validate-authz.js';
import { validatePeerAuthenticationSpec } from './validate-peer-authn.js';
import { validateRequestAuthenticationSpec } from './validate-request-authn.js';
import { validateSecret } from './validate-tls.js';
import { checkServiceExportToAnnotation, validateSidecarSpec } from './validate-scope.js';
import { validateDestinationRuleSpec, validateGatewaySpec, validateVirtualServiceSpec } from './validate-istio.js';
import { validateServiceEntrySpec, validateWorkloadEntrySpec } from './validate-service-entry.js';

export type ValidationResult =
  | { readonly ok: true; readonly resource: KubeResource; readonly warnings: readonly ResourceIssue[] }
  | { readonly ok: false; readonly errors: readonly ResourceIssue[]; readonly warnings: readonly ResourceIssue[] }
  /** A kind minimesh does not read (ConfigMap, ServiceAccount, ...): not an error. */
  | { readonly ok: 'ignored'; readonly kind: string };

/**
 * Validates one object and fills in the namespace (`defaultNamespace`, `default` unless given)
 * of namespaced kinds, so every later step can rely on `metadata.namespace`.
 */
export function validateResource(obj: unknown, defaultNamespace = 'default'): ValidationResult {
  if (!isObject(obj)) {
    const c = new IssueCollector('(unknown)', defaultNamespace, '(unnamed)');
    c.error('', 'a resource must be a mapping');
    return { ok: false, errors: c.errors, warnings: [] };
  }
  const kind = obj.kind;
  if (!isKnownKind(kind)) {
    if (typeof kind === 'string' && kind) return { ok: 'ignored', kind };
    const c = IssueCollector.for({ kind: '(unknown)', metadata: obj.metadata as { name?: string } });
    c.error('kind', 'is required');
    return { ok: false, errors: c.errors, warnings: [] };
  }
  const namespaced = kind !== 'Namespace' && kind !== 'Node';
  const meta = isObject(obj.metadata) ? { ...obj.metadata } : undefined;
  if (meta && namespaced && meta.namespace === undefined) meta.namespace = defaultNamespace;
  const r = { ...obj, metadata: meta } as Record<string, unknown>;
  const c = IssueCollector.for({ kind, metadata: meta as { name?: string; namespace?: string } });
  if (!API_VERSIONS[kind].includes(obj.apiVersion as string)) c.error('apiVersion', `must be one of ${API_VERSIONS[kind].join(', ')} for ${kind} (got ${JSON.stringify(obj.apiVersion)})`);
  validateMetadata(c, r, namespaced);
  switch (kind) {
    case 'Service':
      validateServiceSpec(c, r.spec);
      checkServiceExportToAnnotation(c, r.metadata);
      break;
    case 'Endpoints':
      validateEndpoints(c, r);
      break;
    case 'EndpointSlice':
      validateEndpointSlice(c, r);
      break;
    case 'Pod':
      validatePod(c, r);
      break;
    case 'Deployment':
      validateDeployment(c, r);
      break;
    case 'VirtualService':
      validateVirtualServiceSpec(c, r.spec);
      break;
    case 'DestinationRule':
      validateDestinationRuleSpec(c, r.spec);
      break;
    case 'Gateway':
      validateGatewaySpec(c, r.spec);
      break;
    case 'ServiceEntry':
      validateServiceEntrySpec(c, r.spec);
      break;
    case 'WorkloadEntry':
      validateWorkloadEntrySpec(c, r.spec);
      break;
    case 'Telemetry':
      validateTelemetrySpec(c, r.spec);
      break;
    case 'AuthorizationPolicy':
      validateAuthorizationPolicySpec(c, r.spec);
      break;
    case 'PeerAuthentication':
      validatePeerAuthenticationSpec(c, r.spec);
      break;
    case 'RequestAuthentication':
      validateRequestAuthenticationSpec(c, r.spec);
      break;
    case 'Sidecar':
      validateSidecarSpec(c, r.spec);
      break;
    case 'Namespace':
    case 'Node':
      break;
    case 'Secret':
      validateSecret(c, r);
      break;
  }
  if (c.errors.length > 0) return { ok: false, errors: c.errors, warnings: c.warnings };
  return { ok: true, resource: r as unknown as KubeResource, warnings: c.warnings };
}
