/**
 * ValidatingWebhookConfiguration `istio-validator-istio-system` (facts §2.4): CREATE and UPDATE
 * of every kind of Istio's API groups go to the control plane's `/validate`, for objects of the
 * default revision. `failurePolicy: Ignore` until the control plane proves it answers and flips
 * it to Fail; no caBundle (patched in).
 */
import { DEFAULT_REVISION, ISTIOD_NAME, OPERATOR_LABELS, VALIDATE_PATH, VALIDATOR_WEBHOOK_CONFIG } from '@minimesh/mesh';
import type { IValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import type { IValidatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhook';
import { asKubeObject, type KubeObject } from '../types.js';

export const VALIDATED_API_GROUPS = ['security.istio.io', 'networking.istio.io', 'telemetry.istio.io', 'extensions.istio.io'] as const;
export const VALIDATOR_WEBHOOK_NAME = 'rev.validation.istio.io';
export const VALIDATOR_WEBHOOK_LABELS = { app: 'istiod', istio: 'istiod', [OPERATOR_LABELS.rev]: DEFAULT_REVISION } as const;

type Selector = NonNullable<IValidatingWebhook['objectSelector']>;

/** One validating webhook named `name`, for the objects `objectSelector` picks. */
export function validationWebhook(name: string, namespace: string, objectSelector: Selector): IValidatingWebhook {
  return {
    name,
    clientConfig: { service: { name: ISTIOD_NAME, namespace, path: VALIDATE_PATH } },
    rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [...VALIDATED_API_GROUPS], apiVersions: ['*'], resources: ['*'] }],
    failurePolicy: 'Ignore',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    objectSelector,
  };
}

export function renderValidatorWebhookConfig(namespace: string): KubeObject {
  const vwc: IValidatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VALIDATOR_WEBHOOK_CONFIG, labels: { ...VALIDATOR_WEBHOOK_LABELS } },
    webhooks: [validationWebhook(VALIDATOR_WEBHOOK_NAME, namespace, { matchExpressions: [{ key: OPERATOR_LABELS.rev, operator: 'In', values: [DEFAULT_REVISION] }] })],
  };
  return asKubeObject(vwc);
}
