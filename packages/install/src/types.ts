/**
 * What an install is made of: components in the order they are applied, each a titled list of
 * Kubernetes objects (plain JSON, as the API server takes them).
 */

/** The components `minimesh install` applies, with Istio's names (the value of `operator.istio.io/component`). */
export type ComponentName = 'Base' | 'Pilot' | 'IngressGateways' | 'EgressGateways';

/** Istio's order: the CRDs first, then the control plane, then the gateways. */
export const COMPONENT_ORDER: readonly ComponentName[] = ['Base', 'Pilot', 'IngressGateways', 'EgressGateways'];

const TITLES: Readonly<Record<ComponentName, string>> = {
  Base: 'Istio core',
  Pilot: 'Istiod',
  IngressGateways: 'Ingress gateways',
  EgressGateways: 'Egress gateways',
};

/** The name printed for a component: `✔ Istio core installed`, `✔ Istiod installed`, ... */
export function componentTitle(c: ComponentName): string {
  return TITLES[c];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Kubernetes object as sent to the API server. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export interface RenderedComponent {
  readonly component: ComponentName;
  /** `Istio core`, `Istiod`, `Ingress gateways` or `Egress gateways`. */
  readonly title: string;
  readonly objects: KubeObject[];
}

/**
 * A typed object (kubernetes-models' interfaces, which catch a misspelt field at compile time)
 * as a plain KubeObject; every object rendered here has a name.
 */
export function asKubeObject(o: { apiVersion: string; kind: string; metadata?: object }): KubeObject {
  const m = o.metadata as ObjectMeta | undefined;
  if (!m?.name) throw new Error(`${o.kind} rendered without metadata.name`);
  return o as unknown as KubeObject;
}
