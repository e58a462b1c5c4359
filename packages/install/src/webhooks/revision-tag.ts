/**
 * What istioctl applies after the charts on a fresh install (facts §2.5): the `default` tag.
 * - MWC `istio-revision-tag-default`: the injector's four webhooks, selectors keyed on the tag
 *   (`default`, so the same as the revision's); the one that serves injection from then on.
 * - VWC `istiod-default-validator`: validation for objects with no `istio.io/rev` label.
 * - The revision's own MWC is then deactivated: every selector of `istio-sidecar-injector`
 *   becomes `matchLabels {istio.io/deactivated: never-match}`, so a pod is injected once.
 * Both tag objects carry the operator labels too (component Pilot), so an uninstall that deletes
 * by `operator.istio.io/component` removes them.
 */
import { DEFAULT_REVISION, DEFAULT_VALIDATOR_WEBHOOK_CONFIG, ISTIO_NAMESPACE, OPERATOR_LABELS, REVISION_TAG_WEBHOOK_CONFIG } from '@minimesh/mesh';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { operatorLabels, withOperatorLabels } from '../labels.js';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { INJECTOR_WEBHOOK_LABELS, injectorWebhooks, renderInjectorWebhookConfig, type LabelSelector } from './injector-webhooks.js';
import { validationWebhook } from './validator-webhook.js';

export const TAG_LABEL = 'istio.io/tag';
/** Marks an object istioctl's prune must leave alone. */
export const NOT_PRUNED_LABEL = 'install.operator.istio.io/owning-resource-not-pruned';
export const DEFAULT_VALIDATOR_WEBHOOK_NAME = 'validation.istio.io';
/** The selector that matches nothing (istioctl's NeverMatch). */
export const NEVER_MATCH: LabelSelector = { matchLabels: { 'istio.io/deactivated': 'never-match' } };

/**
 * The tag MWC and the default validator. `caBundle`, when given (the root PEM, base64), is set on
 * every tag webhook as istioctl copies it from the revision's; without it the control plane
 * patches it in (it patches every MWC labelled with its revision).
 */
export function renderDefaultRevisionTag(v: InstallValues, caBundle?: string): KubeObject[] {
  const tag = DEFAULT_REVISION;
  const mwc: IMutatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: REVISION_TAG_WEBHOOK_CONFIG,
      labels: { ...INJECTOR_WEBHOOK_LABELS, [TAG_LABEL]: tag, [NOT_PRUNED_LABEL]: 'true', ...operatorLabels('Pilot') },
    },
    webhooks: injectorWebhooks(v.namespace, tag).map((w) => (caBundle ? { ...w, clientConfig: { ...w.clientConfig, caBundle } } : w)),
  };
  const vwc: IValidatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: DEFAULT_VALIDATOR_WEBHOOK_CONFIG,
      labels: { [OPERATOR_LABELS.rev]: v.revision, [TAG_LABEL]: tag, ...operatorLabels('Pilot') },
    },
    webhooks: [validationWebhook(DEFAULT_VALIDATOR_WEBHOOK_NAME, v.namespace, { matchExpressions: [{ key: OPERATOR_LABELS.rev, operator: 'DoesNotExist' }] })],
  };
  return [asKubeObject(mwc), asKubeObject(vwc)];
}

/** A copy of an MWC (e.g. the live `istio-sidecar-injector`, caBundle and all) with every selector never matching. */
export function deactivateInjectorWebhooks<T extends KubeObject>(mwc: T): T {
  const webhooks = (mwc.webhooks as Record<string, unknown>[] | undefined) ?? [];
  return { ...mwc, webhooks: webhooks.map((w) => ({ ...w, namespaceSelector: structuredClone(NEVER_MATCH), objectSelector: structuredClone(NEVER_MATCH) })) };
}

/**
 * `istio-sidecar-injector` as istioctl leaves it after the tag: the FULL object (operator labels
 * included), every webhook's selectors `NEVER_MATCH`. Meant for server-side apply with the
 * installer's field manager (INSTALL_FIELD_MANAGER, force): the selectors are replaced and the
 * caBundle, owned by the control plane's field manager, stays. (Not a JSON merge patch: a merge
 * patch replaces the whole `webhooks` list and would drop the caBundle.)
 */
export function deactivatedInjectorPatch(namespace: string = ISTIO_NAMESPACE): KubeObject {
  return deactivateInjectorWebhooks(withOperatorLabels(renderInjectorWebhookConfig(namespace), 'Pilot'));
}
