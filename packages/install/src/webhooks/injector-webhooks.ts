/**
 * MutatingWebhookConfiguration `istio-sidecar-injector` (facts §2.3): four webhooks that send
 * pod creations to the control plane's `/inject`, chosen by namespace and pod labels:
 *   rev.namespace  namespace istio.io/rev=default (and no istio-injection label)
 *   rev.object     pod istio.io/rev=default, in a namespace with neither label
 *   namespace      namespace istio-injection=enabled
 *   object         pod sidecar.istio.io/inject=true, in a namespace with neither label
 * each skipping pods labelled sidecar.istio.io/inject=false. No caBundle: the control plane
 * patches in its root.
 */
import { DEFAULT_REVISION, INJECT_PATH, INJECTOR_WEBHOOK_CONFIG, INJECTOR_WEBHOOK_SUFFIX, ISTIOD_NAME, OPERATOR_LABELS, WEBHOOK_SERVICE_PORT } from '@minimesh/mesh';
import { LABELS } from '@minimesh/injector/injection-keys';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IMutatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhook';
import { asKubeObject, type KubeObject } from '../types.js';

export type LabelSelector = NonNullable<IMutatingWebhook['namespaceSelector']>;

/** The injector's webhook names, in Istio's order. */
export const INJECTOR_WEBHOOK_NAMES = ['rev.namespace', 'rev.object', 'namespace', 'object'].map((p) => `${p}.${INJECTOR_WEBHOOK_SUFFIX}`);

/** The labels of the injector's MWC. */
export const INJECTOR_WEBHOOK_LABELS = { app: 'sidecar-injector', [OPERATOR_LABELS.rev]: DEFAULT_REVISION } as const;

const REV = OPERATOR_LABELS.rev;
const NS_INJECTION = LABELS.namespaceInjection;
const POD_INJECT = LABELS.inject;

const expr = (key: string, operator: 'In' | 'NotIn' | 'DoesNotExist', values?: string[]) => ({ key, operator, ...(values ? { values } : {}) });
const notDisabled = expr(POD_INJECT, 'NotIn', ['false']);

/** namespaceSelector and objectSelector of each webhook, for a revision (or tag) named `rev`. */
export function injectorSelectors(rev: string = DEFAULT_REVISION): { name: string; namespaceSelector: LabelSelector; objectSelector: LabelSelector }[] {
  const sel = (...matchExpressions: ReturnType<typeof expr>[]): LabelSelector => ({ matchExpressions });
  const [revNs, revObj, ns, obj] = INJECTOR_WEBHOOK_NAMES;
  return [
    { name: revNs, namespaceSelector: sel(expr(REV, 'In', [rev]), expr(NS_INJECTION, 'DoesNotExist')), objectSelector: sel(notDisabled) },
    { name: revObj, namespaceSelector: sel(expr(REV, 'DoesNotExist'), expr(NS_INJECTION, 'DoesNotExist')), objectSelector: sel(notDisabled, expr(REV, 'In', [rev])) },
    { name: ns, namespaceSelector: sel(expr(NS_INJECTION, 'In', ['enabled'])), objectSelector: sel(notDisabled) },
    { name: obj, namespaceSelector: sel(expr(NS_INJECTION, 'DoesNotExist'), expr(REV, 'DoesNotExist')), objectSelector: sel(expr(POD_INJECT, 'In', ['true']), expr(REV, 'DoesNotExist')) },
  ];
}

/** The webhooks, each sending pod CREATEs to the control plane's /inject on the Service's 443. */
export function injectorWebhooks(namespace: string, rev: string = DEFAULT_REVISION): IMutatingWebhook[] {
  return injectorSelectors(rev).map((s) => ({
    name: s.name,
    clientConfig: { service: { name: ISTIOD_NAME, namespace, path: INJECT_PATH, port: WEBHOOK_SERVICE_PORT } },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    reinvocationPolicy: 'Never',
    namespaceSelector: s.namespaceSelector,
    objectSelector: s.objectSelector,
  }));
}

export function renderInjectorWebhookConfig(namespace: string): KubeObject {
  const mwc: IMutatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: INJECTOR_WEBHOOK_CONFIG, labels: { ...INJECTOR_WEBHOOK_LABELS } },
    webhooks: injectorWebhooks(namespace),
  };
  return asKubeObject(mwc);
}
