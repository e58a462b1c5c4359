/** The labels and annotations Istio adds to an injected pod. */
import { PORTS } from '@minimesh/mesh';
import { ANNOTATIONS, LABELS } from './injection-keys.js';
import type { Pod } from './kube-types.js';

/**
 * The workload's name: the pod's name, or for a pod made by a controller (`generateName`,
 * an owner), the controller's name without the ReplicaSet / Job hash.
 */
export function workloadName(pod: Pod): string {
  const m = pod.metadata ?? {};
  const owner = m.ownerReferences?.find((r) => r.controller) ?? m.ownerReferences?.[0];
  if (owner) {
    if (owner.kind === 'ReplicaSet' && /-[a-z0-9]{5,10}$/.test(owner.name)) return owner.name.replace(/-[a-z0-9]{5,10}$/, '');
    if (owner.kind === 'Job' && /-\d{8,}$/.test(owner.name)) return owner.name.replace(/-\d{8,}$/, '');
    return owner.name;
  }
  if (m.name) return m.name;
  if (m.generateName) return m.generateName.replace(/-$/, '');
  return 'unknown';
}

export function canonicalName(pod: Pod): string {
  const l = pod.metadata?.labels ?? {};
  return l[LABELS.canonicalName] ?? l['app.kubernetes.io/name'] ?? l.app ?? workloadName(pod);
}

export function canonicalRevision(pod: Pod): string {
  const l = pod.metadata?.labels ?? {};
  return l[LABELS.canonicalRevision] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest';
}

/** Adds labels and annotations (keeping any the user set) to `pod` in place. */
export function applyPodMetadata(pod: Pod, status: string, revision: string, defaultContainer: string | undefined): void {
  const m = (pod.metadata ??= {});
  const labels = (m.labels ??= {});
  labels[LABELS.tlsMode] ??= 'istio';
  labels[LABELS.canonicalName] = canonicalName(pod);
  labels[LABELS.canonicalRevision] = canonicalRevision(pod);
  const a = (m.annotations ??= {});
  const first = defaultContainer;
  a[ANNOTATIONS.revision] ??= revision;
  if (first) {
    a[ANNOTATIONS.defaultContainer] ??= first;
    a[ANNOTATIONS.defaultLogsContainer] ??= first;
  }
  a[ANNOTATIONS.prometheusPath] ??= '/stats/prometheus';
  a[ANNOTATIONS.prometheusPort] ??= String(PORTS.mergedMetrics);
  a[ANNOTATIONS.prometheusScrape] ??= 'true';
  a[ANNOTATIONS.status] = status;
}
