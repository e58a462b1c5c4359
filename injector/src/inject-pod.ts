/**
 * injectPod: the pod with istio-init and istio-proxy added, built with typed builders (no
 * templates). The webhook diffs the result against the original into a JSON patch;
 * kube-inject prints it.
 */
import { ANNOTATIONS, PROXY_CONTAINER_NAME } from './injection-keys.js';
import { DEFAULT_INJECT_OPTIONS, type InjectOptions, type SidecarMode } from './inject-options.js';
import type { NamespaceInfo, Pod } from './kube-types.js';
import { buildInitContainer } from './init-container.js';
import { buildProxyContainer, proxyVolumes } from './proxy-container.js';
import { applyPodMetadata } from './pod-metadata.js';
import { formatStatus } from './injection-status.js';
import { skipReason, type SkipDecision } from './skip-reason.js';
import { APP_PROBERS_ENV, formatAppProbers, rewriteAppProbes } from './app-probes.js';
import { podWorkload, type WorkloadRef } from './workload-identity.js';

export type InjectResult =
  | { readonly injected: true; readonly pod: Pod }
  | { readonly injected: false; readonly pod: Pod; readonly skip: SkipDecision };

/** The pod's `sidecar.istio.io/nativeSidecar` annotation overrides the injector's mode. */
function sidecarMode(pod: Pod, o: InjectOptions): SidecarMode {
  const v = pod.metadata?.annotations?.[ANNOTATIONS.nativeSidecar];
  if (v === 'true') return 'native';
  if (v === 'false') return 'hold';
  return o.mode;
}

/** Never changes `pod`; returns a new one (or the same one when skipped). */
/**
 * `workload`: the workload the pod belongs to when the caller knows it (kube-inject injects the
 * Deployment itself); the webhook reads it from the pod's owner references.
 */
export function injectPod(pod: Pod, namespace: NamespaceInfo, options: Partial<InjectOptions> = {}, workload?: WorkloadRef): InjectResult {
  const skip = skipReason(pod, namespace);
  if (skip) return { injected: false, pod, skip };
  const o: InjectOptions = { ...DEFAULT_INJECT_OPTIONS, ...options };
  const out = structuredClone(pod);
  const spec = (out.spec ??= { containers: [] });
  spec.containers ??= [];
  const mode = sidecarMode(out, o);
  const oo = { ...o, mode };
  const capture = (out.metadata?.annotations?.[ANNOTATIONS.interceptionMode] ?? 'REDIRECT').toUpperCase() !== 'NONE';
  const init = capture ? [buildInitContainer(out, oo)] : [];
  const proxy = buildProxyContainer(out, oo, workload ?? podWorkload(out));
  // After the proxy read the pod's ports; before the proxy joins the pod (its probes stay).
  const probers = rewriteAppProbes(out);
  if (Object.keys(probers).length > 0) proxy.env = [...(proxy.env ?? []), { name: APP_PROBERS_ENV, value: formatAppProbers(probers) }];
  const existingInit = spec.initContainers ?? [];
  const firstApp = spec.containers[0]?.name;
  let initNames: string[];
  let containerNames: string[] | null;
  if (mode === 'native') {
    // istio-init, then the proxy, then the pod's own init containers (which get the mesh too).
    spec.initContainers = [...init, proxy, ...existingInit];
    initNames = [...init.map((c) => c.name), PROXY_CONTAINER_NAME];
    containerNames = null;
  } else {
    if (init.length > 0) spec.initContainers = [...init, ...existingInit];
    spec.containers = [proxy, ...spec.containers];
    initNames = init.map((c) => c.name);
    containerNames = [PROXY_CONTAINER_NAME];
  }
  const have = new Set((spec.volumes ?? []).map((v) => v.name));
  const volumes = proxyVolumes(o);
  spec.volumes = [...(spec.volumes ?? []), ...volumes.filter((v) => !have.has(v.name))];
  const status = formatStatus({ initContainers: initNames.length ? initNames : null, containers: containerNames, volumes: volumes.map((v) => v.name), imagePullSecrets: null, revision: o.revision });
  // default-container is the first app container, read before the proxy was put first.
  applyPodMetadata(out, status, o.revision, firstApp, proxy);
  return { injected: true, pod: out };
}
