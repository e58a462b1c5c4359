/** The `sidecar.istio.io/status` annotation: what was injected, so a second pass changes nothing. */
import { ANNOTATIONS, PROXY_CONTAINER_NAME } from './injection-keys.js';
import type { Pod } from './kube-types.js';

export interface InjectionStatus {
  readonly initContainers: readonly string[] | null;
  readonly containers: readonly string[] | null;
  readonly volumes: readonly string[] | null;
  readonly imagePullSecrets: readonly string[] | null;
  readonly revision: string;
}

/** Istio's key order, so the value reads like Istio's. */
export function formatStatus(s: InjectionStatus): string {
  return JSON.stringify({ initContainers: s.initContainers, containers: s.containers, volumes: s.volumes, imagePullSecrets: s.imagePullSecrets, revision: s.revision });
}

export function isInjected(pod: Pod): boolean {
  if (pod.metadata?.annotations?.[ANNOTATIONS.status] !== undefined) return true;
  const spec = pod.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((c) => c.name === PROXY_CONTAINER_NAME);
}
