/**
 * The workload a pod belongs to, as Istio's injector names it in the proxy's environment
 * (ISTIO_META_WORKLOAD_NAME, ISTIO_META_OWNER): the proxy puts them in its node metadata and
 * its peers read them for the source_* / destination_* labels of Istio's metrics.
 *
 * A pod made by a controller takes the controller's kind and name, a ReplicaSet with the
 * pod's `pod-template-hash` becoming its Deployment and a Job named `<name>-<timestamp>` its
 * CronJob (Istio's GetDeployMetaFromPod); a bare pod is a `v1` Pod. kube-inject knows the
 * workload from the object it injects and passes it in.
 */
import type { EnvVar, Pod } from './kube-types.js';

export interface WorkloadRef {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
}

/** Istio's label naming the workload explicitly (wins over the owner's name). */
export const WORKLOAD_NAME_LABEL = 'service.istio.io/workload-name';
/** The cluster and mesh ids Istio's injector sets by default. */
export const CLUSTER_ID = 'Kubernetes';
export const MESH_ID = 'cluster.local';

/** Kinds whose API group Kubernetes fixes, for an owner reference without apiVersion. */
const API_VERSIONS: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  ReplicationController: 'v1',
  Pod: 'v1',
};

/** The apiVersion given, else the one Kubernetes fixes for `kind`. */
export const apiVersionOf = (kind: string | undefined, given?: string): string => given ?? API_VERSIONS[kind ?? ''] ?? 'v1';

/** The workload of a pod seen by the webhook (from its controller owner reference). */
export function podWorkload(pod: Pod): WorkloadRef {
  const m = pod.metadata ?? {};
  const owner = m.ownerReferences?.find((r) => r.controller) ?? m.ownerReferences?.[0];
  if (owner) {
    const hash = m.labels?.['pod-template-hash'];
    if (owner.kind === 'ReplicaSet') {
      if (hash ? owner.name.endsWith(`-${hash}`) : /-[a-z0-9]{5,10}$/.test(owner.name)) {
        const name = hash ? owner.name.slice(0, -hash.length - 1) : owner.name.replace(/-[a-z0-9]{5,10}$/, '');
        return { kind: 'Deployment', apiVersion: 'apps/v1', name };
      }
    }
    if (owner.kind === 'Job' && /-\d{8,11}$/.test(owner.name)) return { kind: 'CronJob', apiVersion: 'batch/v1', name: owner.name.replace(/-\d{8,11}$/, '') };
    return { kind: owner.kind, apiVersion: apiVersionOf(owner.kind, owner.apiVersion), name: owner.name };
  }
  return { kind: 'Pod', apiVersion: 'v1', name: m.name ?? m.generateName?.replace(/-$/, '') ?? 'unknown' };
}

/** `kubernetes://apis/apps/v1/namespaces/<ns>/deployments/<name>` (Istio's ISTIO_META_OWNER). */
export function ownerUri(w: WorkloadRef, namespace: string): string {
  return `kubernetes://apis/${w.apiVersion}/namespaces/${namespace}/${w.kind.toLowerCase()}s/${w.name}`;
}

/** ISTIO_META_WORKLOAD_NAME and ISTIO_META_OWNER, in the order of Istio's template. */
export function workloadEnv(pod: Pod, w: WorkloadRef): EnvVar[] {
  const ns = pod.metadata?.namespace ?? 'default';
  return [
    { name: 'ISTIO_META_WORKLOAD_NAME', value: pod.metadata?.labels?.[WORKLOAD_NAME_LABEL] ?? w.name },
    { name: 'ISTIO_META_OWNER', value: ownerUri(w, ns) },
  ];
}
