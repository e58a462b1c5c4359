/**
 * Every object of every profile, and the default tag's objects, validate against Kubernetes'
 * OpenAPI models (kubernetes-models); a broken object does not.
 */
import t from 'tap';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { deactivatedInjectorPatch, profileValues, renderDefaultRevisionTag, type KubeObject } from '../src/index.js';
import { find, renderAllProfiles } from './helpers/render-all.js';

type ModelClass = new (data: object) => { validate(): void };
const MODELS: Record<string, ModelClass> = Object.fromEntries(
  [Deployment, Service, ServiceAccount, ConfigMap, Role, RoleBinding, ClusterRole, ClusterRoleBinding, HorizontalPodAutoscaler, PodDisruptionBudget, CustomResourceDefinition, MutatingWebhookConfiguration, ValidatingWebhookConfiguration].map(
    (m) => [`${m.apiVersion}/${m.kind}`, m as unknown as ModelClass],
  ),
);

/** undefined when valid, else the validator's message (or that no model knows the kind). */
function invalidity(o: KubeObject): string | undefined {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return `no model for ${o.apiVersion} ${o.kind}`;
  try {
    new Model(structuredClone(o)).validate();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

t.test('every object of every profile is a valid Kubernetes object', async (t) => {
  for (const r of renderAllProfiles()) {
    for (const o of r.objects) t.equal(invalidity(o), undefined, `${r.profile}: ${o.kind} ${o.metadata.name}`);
  }
});

t.test('the default tag objects and the deactivated injector are valid', async (t) => {
  for (const o of [...renderDefaultRevisionTag(profileValues('demo'), Buffer.from('root').toString('base64')), deactivatedInjectorPatch()]) {
    t.equal(invalidity(o), undefined, `${o.kind} ${o.metadata.name}`);
  }
});

t.test('a broken object fails validation', async (t) => {
  const objects = renderAllProfiles().find((r) => r.profile === 'demo')!.objects;
  const d = structuredClone(find(objects, 'Deployment', 'istiod'));
  d.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  t.match(invalidity(d), /containerPort must be integer/);
  const svc = structuredClone(find(objects, 'Service', 'istio-ingressgateway'));
  delete svc.spec.ports[0].port;
  t.match(invalidity(svc), /must have required property port/);
  const crd = structuredClone(find(objects, 'CustomResourceDefinition', 'virtualservices.networking.istio.io'));
  crd.spec.versions[0].served = 'yes';
  t.match(invalidity(crd), /served must be boolean/);
  const mwc = structuredClone(find(objects, 'MutatingWebhookConfiguration', 'istio-sidecar-injector'));
  delete mwc.webhooks[0].name;
  t.match(invalidity(mwc), /must have required property name/);
  t.match(invalidity({ apiVersion: 'v1', kind: 'Unheard', metadata: { name: 'x' } }), /no model for v1 Unheard/);
});
