/**
 * When an applied object is ready, as istioctl waits for it: a Deployment whose controller has
 * seen its latest generation and has every replica updated and available; a
 * CustomResourceDefinition that is Established. Everything else is ready once applied.
 */
import type { KubeObject } from '../index.js';

interface DeploymentLike {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number };
}

interface CrdLike {
  status?: { conditions?: { type: string; status: string }[] };
}

/** Kinds install waits for; others are not read back. */
export const WAITED_KINDS = new Set(['Deployment', 'CustomResourceDefinition']);

/** Why the object is not ready yet, or undefined when it is. */
export function notReadyReason(o: KubeObject): string | undefined {
  if (o.kind === 'Deployment') {
    const d = o as unknown as DeploymentLike;
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 1)) return 'the Deployment controller has not seen the latest version yet';
    if ((s.updatedReplicas ?? 0) < want) return `${s.updatedReplicas ?? 0}/${want} replicas updated`;
    if ((s.availableReplicas ?? 0) < want) return `${s.availableReplicas ?? 0}/${want} replicas available`;
    return undefined;
  }
  if (o.kind === 'CustomResourceDefinition') {
    const established = (o as unknown as CrdLike).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    return established ? undefined : 'not Established';
  }
  return undefined;
}

/** `Deployment/istio-system/istiod`, as istioctl names what it waits for. */
export const waitName = (o: KubeObject): string => [o.kind, ...(o.metadata.namespace ? [o.metadata.namespace] : []), o.metadata.name].join('/');

/** `1m30s`, `30s`, `500ms`: a duration as Go prints it (istioctl's messages). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s % 60}s`;
}
