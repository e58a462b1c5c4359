/** A gateway's labels (facts §2.6): `app` and `istio` select its pods; the rest say what it is. */
import { DEFAULT_REVISION, OPERATOR_LABELS } from '@minimesh/mesh';
import { RELEASE_LABEL } from '../labels.js';
import type { GatewaySpec } from './gateway-spec.js';

/** `{app: istio-ingressgateway, istio: ingressgateway}`: the Deployment's selector and the Service's. */
export const gatewaySelector = (g: GatewaySpec): Record<string, string> => ({ app: g.name, istio: g.istioLabel });

/** The labels of every object of the gateway. */
export function gatewayLabels(g: GatewaySpec): Record<string, string> {
  return {
    ...gatewaySelector(g),
    ...RELEASE_LABEL,
    [OPERATOR_LABELS.rev]: DEFAULT_REVISION,
    [OPERATOR_LABELS.component]: g.component,
    'app.kubernetes.io/name': g.name,
  };
}
