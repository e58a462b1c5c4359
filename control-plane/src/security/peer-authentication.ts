/**
 * Which mTLS mode a workload's port receives with (Istio's ComposePeerAuthentication):
 *   - scope: a PeerAuthentication in the root namespace without selector is mesh-wide; in any
 *     other namespace without selector, namespace-wide; with a selector, for the workloads whose
 *     labels it matches (a selector policy in the root namespace is ignored);
 *   - within one scope the oldest policy wins (creation time, then namespace/name);
 *   - `portLevelMtls` (keyed by the workload's port, and only with a selector) wins over the
 *     policy's `mtls`; an UNSET mode falls through port -> workload -> namespace -> mesh;
 *   - nothing set anywhere: PERMISSIVE.
 * Pure: the caller gives the policies it holds.
 */

import { parseMtlsMode, type MtlsMode } from '@minimesh/kube';

export { parseMtlsMode, peerAuthenticationProblems, type MtlsMode } from '@minimesh/kube';
export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

export interface PeerAuthenticationPolicy {
  readonly name: string;
  readonly namespace: string;
  /** metadata.creationTimestamp (ISO); absent counts as oldest. */
  readonly creationTimestamp?: string;
  readonly spec: {
    readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
    readonly mtls?: { readonly mode?: string };
    readonly portLevelMtls?: Readonly<Record<string, { readonly mode?: string }>>;
  };
}

export interface WorkloadRef {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

const hasSelector = (p: PeerAuthenticationPolicy): boolean => Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0;

const selects = (p: PeerAuthenticationPolicy, w: WorkloadRef): boolean =>
  p.namespace === w.namespace && Object.entries(p.spec.selector?.matchLabels ?? {}).every(([k, v]) => w.labels[k] === v);

/** Oldest first; equal or missing times by namespace/name (Istio's tie-break). */
function oldest(ps: readonly PeerAuthenticationPolicy[]): PeerAuthenticationPolicy | undefined {
  return [...ps].sort((a, b) => (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? '') || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))[0];
}

/** The policy of each scope that applies to `w` (undefined where none). */
export function applicablePeerAuthentications(
  policies: readonly PeerAuthenticationPolicy[],
  w: WorkloadRef,
  rootNamespace: string,
): { mesh?: PeerAuthenticationPolicy; namespace?: PeerAuthenticationPolicy; workload?: PeerAuthenticationPolicy } {
  const mesh = oldest(policies.filter((p) => p.namespace === rootNamespace && !hasSelector(p)));
  const namespace = w.namespace === rootNamespace ? undefined : oldest(policies.filter((p) => p.namespace === w.namespace && !hasSelector(p)));
  const workload = w.namespace === rootNamespace ? undefined : oldest(policies.filter((p) => hasSelector(p) && selects(p, w)));
  return { ...(mesh ? { mesh } : {}), ...(namespace ? { namespace } : {}), ...(workload ? { workload } : {}) };
}

const modeOf = (p: PeerAuthenticationPolicy | undefined): MtlsMode => parseMtlsMode(p?.spec.mtls?.mode) ?? 'UNSET';

/** The mode `w` receives with on its port `port` (the workload's port, not the Service's). */
export function effectiveMtlsMode(policies: readonly PeerAuthenticationPolicy[], w: WorkloadRef, port: number, rootNamespace = 'istio-system'): EffectiveMtlsMode {
  const { mesh, namespace, workload } = applicablePeerAuthentications(policies, w, rootNamespace);
  const portMode = workload === undefined ? 'UNSET' : (parseMtlsMode(workload.spec.portLevelMtls?.[String(port)]?.mode) ?? 'UNSET');
  for (const m of [portMode, modeOf(workload), modeOf(namespace), modeOf(mesh)]) if (m !== 'UNSET') return m;
  return 'PERMISSIVE';
}
