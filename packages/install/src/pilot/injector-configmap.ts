/**
 * ConfigMap `istio-sidecar-injector`: `values` (JSON: the image and the settings the injector
 * takes from the install) and `config` (YAML: the injection policy). Istio's `config` also holds
 * its templates (sidecar, gateway, ...); minimesh builds its sidecar in code, so there are none.
 */
import YAML from 'yaml';
import { INJECTOR_CONFIGMAP, ISTIOD_NAME, istiodSecureXdsAddress } from '@minimesh/mesh';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { ISTIOD_LABELS } from './istiod-labels.js';
import { TRUST_DOMAIN } from './mesh-configmap.js';

/** The `values` key: what of the install the injector needs. */
export function injectorValues(v: InstallValues): Record<string, unknown> {
  return {
    global: {
      caAddress: istiodSecureXdsAddress(v.namespace),
      imagePullPolicy: v.imagePullPolicy,
      istioNamespace: v.namespace,
      meshID: TRUST_DOMAIN,
      pilotCertProvider: ISTIOD_NAME,
      proxy: { image: v.image, imagePullPolicy: v.imagePullPolicy },
    },
    revision: v.revision,
    sidecarInjectorWebhook: { enableNamespacesByDefault: false, rewriteAppHTTPProbe: true },
  };
}

/** The `config` key: inject where the webhook's selectors say, with the `sidecar` template. */
export function injectorConfig(): Record<string, unknown> {
  return {
    alwaysInjectSelector: [],
    defaultTemplates: ['sidecar'],
    injectedAnnotations: {},
    neverInjectSelector: [],
    policy: 'enabled',
  };
}

export function renderInjectorConfigMap(v: InstallValues): KubeObject {
  const cm: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: INJECTOR_CONFIGMAP, namespace: v.namespace, labels: { ...ISTIOD_LABELS.configMap } },
    data: {
      config: YAML.stringify(injectorConfig(), { lineWidth: 0 }),
      values: JSON.stringify(injectorValues(v), null, 2),
    },
  };
  return asKubeObject(cm);
}
