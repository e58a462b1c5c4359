/** The labels istioctl stamps on every object it applies (Istio's getOwnerLabels). */
import { DEFAULT_REVISION, MINIMESH_VERSION, OPERATOR_LABELS } from '@minimesh/mesh';
import type { ComponentName, KubeObject } from './types.js';

/** `operator.istio.io/managed: Reconcile` marks what the installer owns. */
export const OPERATOR_MANAGED_VALUE = 'Reconcile';
/** The Helm release label of Istio's charts, which istioctl leaves on its objects. */
export const RELEASE_LABEL = { release: 'istio' } as const;

export function operatorLabels(component: ComponentName): Record<string, string> {
  return {
    [OPERATOR_LABELS.managed]: OPERATOR_MANAGED_VALUE,
    [OPERATOR_LABELS.version]: MINIMESH_VERSION,
    [OPERATOR_LABELS.rev]: DEFAULT_REVISION,
    [OPERATOR_LABELS.component]: component,
  };
}

/** The object with the operator labels added to its own (theirs win: they say who applied it). */
export function withOperatorLabels<T extends KubeObject>(o: T, component: ComponentName): T {
  return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...operatorLabels(component) } } };
}
