/**
 * Everything `minimesh install` applies, by component in Istio's order (Base, Pilot,
 * IngressGateways, EgressGateways), the components a profile lacks left out. Every object has
 * the operator labels. No Namespace: the installer creates istio-system itself, as istioctl does.
 */
import YAML from 'yaml';
import { renderBase } from './crds/render-base.js';
import { egressGatewaySpec, ingressGatewaySpec } from './gateways/gateway-spec.js';
import { renderGateway } from './gateways/render-gateway.js';
import { withOperatorLabels } from './labels.js';
import { renderPilot } from './pilot/render-pilot.js';
import { componentTitle, type ComponentName, type KubeObject, type RenderedComponent } from './types.js';
import type { InstallValues } from './values/install-values.js';

export function renderManifest(v: InstallValues): RenderedComponent[] {
  const out: RenderedComponent[] = [];
  const add = (component: ComponentName, objects: KubeObject[]): void => {
    out.push({ component, title: componentTitle(component), objects: objects.map((o) => withOperatorLabels(o, component)) });
  };
  if (v.components.base) add('Base', renderBase(v));
  if (v.components.pilot) add('Pilot', renderPilot(v));
  if (v.gateways.ingress.enabled) add('IngressGateways', renderGateway(ingressGatewaySpec(v), v));
  if (v.gateways.egress.enabled) add('EgressGateways', renderGateway(egressGatewaySpec(v), v));
  return out;
}

/** Every object of a rendered install, in order. */
export const manifestObjects = (components: readonly RenderedComponent[]): KubeObject[] => components.flatMap((c) => c.objects);

/** Objects as YAML documents separated by `---` (what `manifest generate` prints). */
export function toYamlDocuments(objects: readonly KubeObject[]): string {
  return objects.map((o) => YAML.stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
