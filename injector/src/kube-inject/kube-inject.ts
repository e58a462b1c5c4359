/**
 * `istioctl kube-inject`, offline: every pod template in multi-document YAML gets the sidecar.
 * No namespace lookup (as istioctl): the pod's own opt-out, hostNetwork and the system
 * namespaces still apply.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { injectPod } from '../inject-pod.js';
import type { InjectOptions } from '../inject-options.js';
import type { Pod } from '../kube-types.js';
import { findPodTemplates } from './pod-templates.js';

export interface KubeInjectReport {
  readonly yaml: string;
  /** One line per pod template: `Kind name: injected` or `... skipped (reason)`. */
  readonly notes: string[];
}

export function kubeInject(text: string, options: Partial<InjectOptions> = {}): KubeInjectReport {
  // Kubernetes reads YAML 1.1: 0644 is octal, "on"/"yes" are booleans unless quoted.
  const docs = parseAllDocuments(text, { version: '1.1' });
  const out: string[] = [];
  const notes: string[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`invalid YAML: ${d.errors[0].message}`);
    const obj = d.toJS() as unknown;
    if (obj === null || obj === undefined) continue;
    for (const ref of findPodTemplates(obj)) {
      const tm = ref.holder.metadata ?? {};
      const name = ref.workload.name ?? tm.name ?? '';
      const ns = ref.workload.namespace ?? tm.namespace ?? 'default';
      // Seen as a pod: the workload's name stands in for the pod's own.
      const pod: Pod = { metadata: { ...tm, name: tm.name ?? name, namespace: ns }, spec: ref.holder.spec };
      let r: ReturnType<typeof injectPod>;
      try {
        r = injectPod(pod, { name: ns }, options, { kind: ref.kind, apiVersion: ref.apiVersion, name });
      } catch (e) {
        throw new Error(`${ref.kind} ${ns}/${name}: ${(e as Error).message}`);
      }
      notes.push(`${ref.kind} ${ns}/${name}: ${r.injected ? 'injected' : `skipped (${r.skip.reason})`}`);
      if (!r.injected) continue;
      const m = r.pod.metadata!;
      if (tm.name === undefined) delete m.name;
      if (tm.namespace === undefined) delete m.namespace;
      ref.holder.metadata = m;
      ref.holder.spec = r.pod.spec;
    }
    out.push(stringify(obj, { version: '1.1', lineWidth: 0 }));
  }
  return { yaml: out.join('---\n'), notes };
}
