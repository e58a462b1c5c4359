/** The labels and annotations Istio adds to an injected pod. */
import { ANNOTATIONS, LABELS } from './injection-keys.js';
import type { Container, Pod } from './kube-types.js';
import { applyPrometheusMerge } from './prometheus-merge.js';
import { podWorkload } from './workload-identity.js';

/** The workload's name: the controller's (a Deployment for a ReplicaSet's pod), else the pod's. */
export function workloadName(pod: Pod): string {
  return podWorkload(pod).name;
}

export function canonicalName(pod: Pod): string {
  const l = pod.metadata?.labels ?? {};
  return l[LABELS.canonicalName] ?? l['app.kubernetes.io/name'] ?? l.app ?? workloadName(pod);
}

export function canonicalRevision(pod: Pod): string {
  const l = pod.metadata?.labels ?? {};
  return l[LABELS.canonicalRevision] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest';
}

/** Adds labels and annotations (keeping any the user set; Istio's metrics merge) to `pod` in place. */
export function applyPodMetadata(pod: Pod, status: string, revision: string, defaultContainer: string | undefined, proxy: Container): void {
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
  // Scraped on the agent port, the app's own scrape settings handed to the proxy.
  applyPrometheusMerge(pod, proxy);
  a[ANNOTATIONS.status] = status;
}
