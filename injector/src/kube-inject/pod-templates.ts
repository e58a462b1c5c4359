/**
 * Where each workload kind keeps its pod: the object itself for a Pod, `spec.template` for
 * Deployment, StatefulSet, DaemonSet, ReplicaSet and Job, `spec.jobTemplate.spec.template`
 * for a CronJob, and the items of a List.
 */
import type { ObjectMeta, PodSpec } from '../kube-types.js';
import { apiVersionOf } from '../workload-identity.js';

export const TEMPLATE_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController', 'DeploymentConfig']);

export interface PodTemplateRef {
  /** The object holding `metadata` and `spec` of the pod. */
  readonly holder: { metadata?: ObjectMeta; spec?: PodSpec };
  /** The workload's own metadata (name, namespace). */
  readonly workload: ObjectMeta;
  readonly kind: string;
  /** The workload's apiVersion (`apps/v1`, `batch/v1`, `v1` for a Pod). */
  readonly apiVersion: string;
}

type Obj = Record<string, unknown> & { kind?: string; apiVersion?: string; metadata?: ObjectMeta; spec?: Record<string, unknown>; items?: unknown[] };

/** Every pod template in a Kubernetes object (several for a List). */
export function findPodTemplates(doc: unknown): PodTemplateRef[] {
  if (doc === null || typeof doc !== 'object') return [];
  const o = doc as Obj;
  const meta = o.metadata ?? {};
  const apiVersion = apiVersionOf(o.kind, typeof o.apiVersion === 'string' ? o.apiVersion : undefined);
  if (o.kind === 'List' && Array.isArray(o.items)) return o.items.flatMap(findPodTemplates);
  if (o.kind === 'Pod') return [{ holder: o as PodTemplateRef['holder'], workload: meta, kind: 'Pod', apiVersion }];
  if (o.kind && TEMPLATE_KINDS.has(o.kind) && o.spec && typeof o.spec.template === 'object' && o.spec.template) {
    return [{ holder: o.spec.template as PodTemplateRef['holder'], workload: meta, kind: o.kind, apiVersion }];
  }
  if (o.kind === 'CronJob') {
    const jt = o.spec?.jobTemplate as { spec?: { template?: PodTemplateRef['holder'] } } | undefined;
    if (jt?.spec?.template) return [{ holder: jt.spec.template, workload: meta, kind: 'CronJob', apiVersion }];
  }
  return [];
}
