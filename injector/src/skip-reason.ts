/**
 * Whether a pod gets a sidecar: Istio's rules, in the order Istio checks them.
 * Returns why not, or undefined when the pod is to be injected.
 */
import { ANNOTATIONS, LABELS, SYSTEM_NAMESPACES } from './injection-keys.js';
import type { NamespaceInfo, Pod } from './kube-types.js';
import { isInjected } from './injection-status.js';

export type SkipReason =
  | 'hostNetwork'
  | 'system namespace'
  | 'namespace not enabled'
  | 'pod opted out'
  | 'already injected';

export interface SkipDecision {
  readonly reason: SkipReason;
  readonly detail: string;
}

/** `sidecar.istio.io/inject`: the label wins over the annotation; only "true"/"false" count. */
function podPolicy(pod: Pod): 'true' | 'false' | undefined {
  const l = pod.metadata?.labels?.[LABELS.inject];
  if (l === 'true' || l === 'false') return l;
  const a = pod.metadata?.annotations?.[ANNOTATIONS.inject];
  if (a === 'true' || a === 'false') return a;
  return undefined;
}

export function namespaceEnabled(ns: NamespaceInfo): boolean {
  if (ns.labels === undefined) return true; // chosen by the webhook's namespaceSelector
  return ns.labels[LABELS.namespaceInjection] === 'enabled' || ns.labels[LABELS.namespaceInjectionMinimesh] === 'enabled';
}

export function skipReason(pod: Pod, ns: NamespaceInfo): SkipDecision | undefined {
  if (pod.spec?.hostNetwork === true) return { reason: 'hostNetwork', detail: 'pods on the host network are never injected' };
  if (SYSTEM_NAMESPACES.has(ns.name)) return { reason: 'system namespace', detail: `namespace ${ns.name} is never injected` };
  if (podPolicy(pod) === 'false') return { reason: 'pod opted out', detail: `${LABELS.inject}: "false"` };
  if (!namespaceEnabled(ns)) return { reason: 'namespace not enabled', detail: `namespace ${ns.name} has neither ${LABELS.namespaceInjection}=enabled nor ${LABELS.namespaceInjectionMinimesh}=enabled` };
  if (isInjected(pod)) return { reason: 'already injected', detail: `the pod already has ${ANNOTATIONS.status}` };
  return undefined;
}
