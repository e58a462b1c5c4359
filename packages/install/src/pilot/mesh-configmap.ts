/**
 * ConfigMap `istio`: the mesh config (`mesh`, YAML) and `meshNetworks`, as Istio's chart writes
 * them. Keys are sorted, as Helm's toYaml sorts them.
 */
import YAML from 'yaml';
import { MESH_CONFIGMAP, istiodSecureXdsAddress } from '@minimesh/mesh';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { ISTIOD_LABELS } from './istiod-labels.js';

/** The trust domain of every workload identity (`spiffe://cluster.local/ns/.../sa/...`). */
export const TRUST_DOMAIN = 'cluster.local';

/** The mesh config of an install, as an object. */
export function meshConfig(v: InstallValues): Record<string, unknown> {
  return {
    ...(v.meshConfig.accessLogFile ? { accessLogFile: v.meshConfig.accessLogFile } : {}),
    defaultConfig: { discoveryAddress: istiodSecureXdsAddress(v.namespace) },
    defaultProviders: { metrics: ['prometheus'] },
    enablePrometheusMerge: true,
    rootNamespace: v.namespace,
    trustDomain: TRUST_DOMAIN,
  };
}

export function renderMeshConfigMap(v: InstallValues): KubeObject {
  const cm: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: MESH_CONFIGMAP, namespace: v.namespace, labels: { ...ISTIOD_LABELS.configMap } },
    data: {
      mesh: YAML.stringify(meshConfig(v), { sortMapEntries: true, lineWidth: 0 }),
      meshNetworks: 'networks: {}',
    },
  };
  return asKubeObject(cm);
}
