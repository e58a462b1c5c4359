/**
 * The kinds the fake API server serves: built-in ones, plus every version a created
 * CustomResourceDefinition serves (and, unless asked not to, Istio's kinds from the start,
 * for tests of the Kubernetes source that do not install CRDs first).
 */
export interface Collection {
  readonly group: string; // '' for the core group
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  /** Has a /status subresource (writes to the object leave status alone). */
  readonly status?: boolean;
}

const core = (kind: string, plural: string, namespaced = true, status = false): Collection => ({ group: '', version: 'v1', kind, plural, namespaced, status });
const grp = (group: string, version: string, kind: string, plural: string, namespaced = true, status = false): Collection => ({ group, version, kind, plural, namespaced, status });

export const BUILTIN_COLLECTIONS: readonly Collection[] = [
  core('Namespace', 'namespaces', false, true),
  core('Node', 'nodes', false, true),
  core('Service', 'services', true, true),
  core('Pod', 'pods', true, true),
  core('Endpoints', 'endpoints'),
  core('ConfigMap', 'configmaps'),
  core('Secret', 'secrets'),
  core('ServiceAccount', 'serviceaccounts'),
  grp('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  grp('apps', 'v1', 'Deployment', 'deployments', true, true),
  grp('apps', 'v1', 'ReplicaSet', 'replicasets', true, true),
  grp('apps', 'v1', 'DaemonSet', 'daemonsets', true, true),
  grp('apps', 'v1', 'StatefulSet', 'statefulsets', true, true),
  grp('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  grp('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  grp('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  grp('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  grp('admissionregistration.k8s.io', 'v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false),
  grp('admissionregistration.k8s.io', 'v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false),
  grp('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, true),
  grp('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, true),
  grp('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, true),
];

/** Istio's kinds as the Kubernetes source watches them (served at v1 without a CRD). */
export const ISTIO_COLLECTIONS: readonly Collection[] = [
  grp('networking.istio.io', 'v1', 'VirtualService', 'virtualservices', true, true),
  grp('networking.istio.io', 'v1', 'DestinationRule', 'destinationrules', true, true),
  grp('networking.istio.io', 'v1', 'Gateway', 'gateways', true, true),
  grp('networking.istio.io', 'v1', 'ServiceEntry', 'serviceentries', true, true),
  grp('networking.istio.io', 'v1', 'Sidecar', 'sidecars', true, true),
  grp('networking.istio.io', 'v1', 'WorkloadEntry', 'workloadentries', true, true),
  grp('telemetry.istio.io', 'v1', 'Telemetry', 'telemetries', true, true),
  grp('security.istio.io', 'v1', 'AuthorizationPolicy', 'authorizationpolicies', true, true),
  grp('security.istio.io', 'v1', 'PeerAuthentication', 'peerauthentications', true, true),
  grp('security.istio.io', 'v1', 'RequestAuthentication', 'requestauthentications', true, true),
];

export const groupVersion = (c: { group: string; version: string }): string => (c.group ? `${c.group}/${c.version}` : c.version);
/** `/api/v1` or `/apis/GROUP/VERSION`. */
export const apiRoot = (c: { group: string; version: string }): string => (c.group ? `/apis/${c.group}/${c.version}` : `/api/${c.version}`);

interface CrdLike {
  spec?: {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string; shortNames?: string[] };
    versions?: { name?: string; served?: boolean; subresources?: { status?: unknown } }[];
  };
}

/** The collections a CustomResourceDefinition adds: one per served version. */
export function collectionsOfCrd(crd: CrdLike): Collection[] {
  const s = crd.spec ?? {};
  const kind = s.names?.kind;
  const plural = s.names?.plural;
  if (!s.group || !kind || !plural) return [];
  return (s.versions ?? [])
    .filter((v) => v.served !== false && v.name)
    .map((v) => ({ group: s.group!, version: v.name!, kind, plural, namespaced: s.scope !== 'Cluster', shortNames: s.names?.shortNames, status: v.subresources?.status !== undefined }));
}
