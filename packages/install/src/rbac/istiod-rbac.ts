/**
 * What the control plane may do, and no more: read every kind its Kubernetes source watches
 * (WATCHED_KINDS), publish the root ConfigMap in every namespace, patch the caBundle of its
 * webhooks (and flip the validator to Fail), dry-run a Gateway, review the pods' tokens
 * (TokenReview) for the CA, and keep its CA in a Secret of its own namespace.
 */
import { ISTIOD_NAME } from '@minimesh/mesh';
import { WATCHED_KINDS, type WatchedKind } from '@minimesh/control-plane/sources/kube-source';
import { clusterRole, clusterRoleBinding, role, roleBinding, type Labels, type PolicyRule } from '../kube-builders.js';
import type { KubeObject } from '../types.js';

/** `istiod-clusterrole-istio-system`. */
export const istiodClusterRoleName = (ns: string): string => `istiod-clusterrole-${ns}`;

const READ = ['get', 'list', 'watch'];

/** The API group and resource of a watched kind (`/apis/networking.istio.io/v1/virtualservices`). */
export function watchedResource(k: WatchedKind): { group: string; resource: string } {
  const group = k.apiVersion.includes('/') ? k.apiVersion.slice(0, k.apiVersion.indexOf('/')) : '';
  const resource = k.path.split('/').filter(Boolean).pop() ?? '';
  return { group, resource };
}

/** get/list/watch on every watched kind (plus namespaces), one rule per API group. */
export function watchRules(kinds: readonly WatchedKind[] = WATCHED_KINDS): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>([['', new Set(['namespaces'])]]);
  for (const k of kinds) {
    const { group, resource } = watchedResource(k);
    if (!byGroup.has(group)) byGroup.set(group, new Set());
    byGroup.get(group)!.add(resource);
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]) => ({ apiGroups: [group], resources: [...resources].sort(), verbs: [...READ] }));
}

export function istiodClusterRules(): PolicyRule[] {
  return [
    ...watchRules(),
    // The root certificate, published as a ConfigMap in every namespace.
    { apiGroups: [''], resources: ['configmaps'], verbs: [...READ, 'create', 'update', 'patch'] },
    // caBundle patches; the validator's failurePolicy flip.
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'], verbs: [...READ, 'update', 'patch'] },
    // The dry-run create of an invalid Gateway that proves the validator answers.
    { apiGroups: ['networking.istio.io'], resources: ['gateways'], verbs: ['create'] },
    // The CA checks the pods' tokens (CreateCertificate) with a TokenReview, as istiod does.
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  ];
}

/** The CA's Secret lives in the control plane's namespace. */
export function istiodNamespaceRules(): PolicyRule[] {
  return [{ apiGroups: [''], resources: ['secrets'], verbs: [...READ, 'create', 'update'] }];
}

export function renderIstiodRbac(ns: string, labels: Labels): KubeObject[] {
  const name = istiodClusterRoleName(ns);
  return [
    clusterRole(name, labels, istiodClusterRules()),
    clusterRoleBinding(name, labels, name, ISTIOD_NAME, ns),
    role(ISTIOD_NAME, ns, labels, istiodNamespaceRules()),
    roleBinding(ISTIOD_NAME, ns, labels, ISTIOD_NAME, ISTIOD_NAME),
  ];
}
