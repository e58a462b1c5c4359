/**
 * Sidecar injection and workload checks:
 *   IST0102 NamespaceNotInjected: a namespace with neither `istio-injection` nor `istio.io/rev`;
 *   IST0103 PodMissingProxy: a pod of an injected namespace without its `istio-proxy` container;
 *   IST0144 InvalidApplicationUID: a Pod or Deployment whose app runs as the proxy's UID 1337.
 */
import { invalidApplicationUID, namespaceNotInjected, podMissingProxy, type AnalysisMessage } from './analysis-message.js';
import { IGNORED_NAMESPACES, MESH_SYSTEM_NAMESPACE, field, isMeshControlPlane, records, type AnalysisContext } from './analysis-context.js';
import type { RawObject } from './analyzed-resource.js';

const INJECTION_LABEL = 'istio-injection';
const REVISION_LABEL = 'istio.io/rev';
const INJECT_ANNOTATION = 'sidecar.istio.io/inject';
const PROXY_CONTAINER = 'istio-proxy';
const PROXY_UID = 1337;

/** Namespaces whose new pods get the sidecar. */
function injectedNamespaces(ctx: AnalysisContext): Set<string> {
  const out = new Set<string>();
  for (const ns of ctx.of('Namespace')) {
    if (ns.labels[REVISION_LABEL] !== undefined || ns.labels[INJECTION_LABEL] === 'enabled') out.add(ns.name);
  }
  return out;
}

export function analyzeNamespaceInjection(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const ns of ctx.of('Namespace')) {
    if (ns.name === MESH_SYSTEM_NAMESPACE || IGNORED_NAMESPACES.has(ns.name)) continue;
    if (ns.labels[INJECTION_LABEL] === undefined && ns.labels[REVISION_LABEL] === undefined) out.push(namespaceNotInjected(ns.origin, ns.name));
  }
  return out;
}

export function analyzePodProxies(ctx: AnalysisContext): AnalysisMessage[] {
  const injected = injectedNamespaces(ctx);
  const out: AnalysisMessage[] = [];
  for (const pod of ctx.of('Pod')) {
    if (!injected.has(pod.namespace)) continue;
    const inject = pod.labels[INJECT_ANNOTATION] ?? pod.annotations[INJECT_ANNOTATION] ?? '';
    if (inject.toLowerCase() === 'false') continue;
    if (field(pod.obj, 'spec', 'hostNetwork') === true) continue;
    // A native sidecar (Kubernetes 1.29+) is an init container with restartPolicy Always.
    const containers = [...records(field(pod.obj, 'spec', 'containers')), ...records(field(pod.obj, 'spec', 'initContainers'))];
    if (!containers.some((c) => c.name === PROXY_CONTAINER)) out.push(podMissingProxy(pod.origin));
  }
  return out;
}

/** Does a pod spec run its app (any container but the proxy) as UID 1337? */
function runsAsProxyUid(podSpec: unknown): boolean {
  if (field(podSpec, 'securityContext', 'runAsUser') === PROXY_UID) return true;
  return records(field(podSpec, 'containers')).some((c) => c.name !== PROXY_CONTAINER && c.name !== 'istio-operator' && field(c, 'securityContext', 'runAsUser') === PROXY_UID);
}

export function analyzeApplicationUid(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  const check = (kind: string, podSpec: (o: RawObject) => unknown): void => {
    for (const r of ctx.of(kind)) if (!isMeshControlPlane(r) && runsAsProxyUid(podSpec(r.obj))) out.push(invalidApplicationUID(r.origin));
  };
  check('Pod', (o) => o.spec);
  check('Deployment', (o) => field(o, 'spec', 'template', 'spec'));
  return out;
}
