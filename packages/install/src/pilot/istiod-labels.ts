/** The labels of the control plane's objects (istiod's chart), spelled once. */
import { DEFAULT_REVISION, OPERATOR_LABELS } from '@minimesh/mesh';
import { RELEASE_LABEL } from '../labels.js';

const rev = { [OPERATOR_LABELS.rev]: DEFAULT_REVISION };

/** `app=istiod, istio=pilot`: the Deployment's pods, selected by the Service and the budget. */
export const ISTIOD_SELECTOR = { app: 'istiod', istio: 'pilot' } as const;
/** The Deployment's `spec.selector` (only `istio: pilot`, as Istio's). */
export const ISTIOD_DEPLOYMENT_SELECTOR = { istio: 'pilot' } as const;
/** The owner label of Istio's charts, `unknown` when the IstioOperator has no name. */
export const OWNING_RESOURCE_LABEL = { 'install.operator.istio.io/owning-resource': 'unknown' } as const;

export const ISTIOD_LABELS = {
  deployment: { ...ISTIOD_SELECTOR, ...rev, ...OWNING_RESOURCE_LABEL, ...RELEASE_LABEL },
  service: { ...ISTIOD_SELECTOR, ...rev, ...RELEASE_LABEL },
  configMap: { ...rev, ...RELEASE_LABEL },
  rbac: { app: 'istiod', ...RELEASE_LABEL },
  autoscaler: { app: 'istiod', ...rev, ...RELEASE_LABEL },
  budget: { ...ISTIOD_SELECTOR, ...rev, ...RELEASE_LABEL },
} as const;
