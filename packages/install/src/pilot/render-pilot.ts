/**
 * The Pilot component ("Istiod"): the control plane with its account, RBAC, ConfigMaps,
 * Service, Deployment (and autoscaler), and the injector and validator webhooks, in Helm's
 * install order (the webhooks last, once what serves them is applied).
 */
import { ISTIOD_NAME } from '@minimesh/mesh';
import { cpuAutoscaler, disruptionBudget, serviceAccount } from '../kube-builders.js';
import { renderIstiodRbac } from '../rbac/istiod-rbac.js';
import type { KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { renderInjectorWebhookConfig } from '../webhooks/injector-webhooks.js';
import { renderValidatorWebhookConfig } from '../webhooks/validator-webhook.js';
import { renderInjectorConfigMap } from './injector-configmap.js';
import { renderIstiodDeployment } from './istiod-deployment.js';
import { ISTIOD_LABELS, ISTIOD_SELECTOR } from './istiod-labels.js';
import { renderIstiodService } from './istiod-service.js';
import { renderMeshConfigMap } from './mesh-configmap.js';

export function renderPilot(v: InstallValues): KubeObject[] {
  const ns = v.namespace;
  return [
    disruptionBudget(ISTIOD_NAME, ns, ISTIOD_LABELS.budget, ISTIOD_SELECTOR),
    serviceAccount(ISTIOD_NAME, ns, ISTIOD_LABELS.rbac),
    renderMeshConfigMap(v),
    renderInjectorConfigMap(v),
    ...renderIstiodRbac(ns, ISTIOD_LABELS.rbac),
    renderIstiodService(v),
    renderIstiodDeployment(v),
    ...(v.pilot.autoscaleEnabled ? [cpuAutoscaler(ISTIOD_NAME, ns, ISTIOD_LABELS.autoscaler)] : []),
    renderInjectorWebhookConfig(ns),
    renderValidatorWebhookConfig(ns),
  ];
}
