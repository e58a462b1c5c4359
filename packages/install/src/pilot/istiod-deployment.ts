/**
 * Deployment `istiod`: the control plane (`minimesh control-plane --kube`) with istiod's
 * names, labels, ports, probe and security context (facts §2.2).
 */
import { CONTROL_PLANE_READY_PORT, ISTIOD_NAME, MESH_CONFIG_MOUNT_PATH, MESH_CONFIG_VOLUME, MESH_CONFIGMAP, OPERATOR_LABELS, PORTS, PROXY_GID, PROXY_UID } from '@minimesh/mesh';
import { ANNOTATIONS, LABELS } from '@minimesh/injector/injection-keys';
import { CLUSTER_ID } from '@minimesh/injector/workload-identity';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { ISTIOD_DEPLOYMENT_SELECTOR, ISTIOD_LABELS, ISTIOD_SELECTOR, OWNING_RESOURCE_LABEL } from './istiod-labels.js';

/** A Secret holding a serving certificate that wins over the one the control plane signs. */
export const ISTIOD_TLS_SECRET = 'istiod-tls';
export const ISTIOD_TLS_MOUNT_PATH = '/var/run/secrets/istiod/tls';
export const ISTIOD_CONTAINER = 'discovery';

/** istiod's container ports, with Istio's names (15017 sits behind the Service's 443). */
export const ISTIOD_CONTAINER_PORTS = [
  { containerPort: CONTROL_PLANE_READY_PORT, name: 'http-debug' },
  { containerPort: PORTS.xds, name: 'grpc-xds' },
  { containerPort: PORTS.xdsTls, name: 'tls-xds' },
  { containerPort: PORTS.webhook, name: 'https-webhooks' },
  { containerPort: PORTS.controlPlaneDebug, name: 'http-monitoring' },
  { containerPort: PORTS.dashboard, name: 'http-dashboard' },
] as const;

const all = (port: number): string => `0.0.0.0:${port}`;

/** `minimesh control-plane ...`: every listener on all addresses, sidecars injected with `image`. */
export function istiodArgs(image: string): string[] {
  return [
    'control-plane',
    '--kube',
    // Injected pods run istio-init's capture rules: sidecars get the 15001/15006 virtual listeners.
    '--capture',
    '--xds-address',
    all(PORTS.xds),
    '--secure-xds-address',
    all(PORTS.xdsTls),
    '--webhook-address',
    all(PORTS.webhook),
    '--debug-address',
    all(PORTS.controlPlaneDebug),
    '--ready-address',
    all(CONTROL_PLANE_READY_PORT),
    '--dashboard-address',
    all(PORTS.dashboard),
    '--proxy-image',
    image,
  ];
}

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

function discoveryContainer(v: InstallValues): IContainer {
  return {
    name: ISTIOD_CONTAINER,
    image: v.image,
    imagePullPolicy: v.imagePullPolicy,
    args: istiodArgs(v.image),
    ports: ISTIOD_CONTAINER_PORTS.map((p) => ({ ...p, protocol: 'TCP' })),
    readinessProbe: { httpGet: { path: '/ready', port: CONTROL_PLANE_READY_PORT }, initialDelaySeconds: 1, periodSeconds: 3, timeoutSeconds: 5 },
    env: [
      { name: 'REVISION', value: v.revision },
      { name: 'PILOT_CERT_PROVIDER', value: ISTIOD_NAME },
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      { name: 'PILOT_TRACE_SAMPLING', value: String(v.pilot.traceSampling) },
      { name: 'CLUSTER_ID', value: CLUSTER_ID },
    ],
    resources: structuredClone(v.pilot.resources) as IContainer['resources'],
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsGroup: PROXY_GID,
      runAsNonRoot: true,
      runAsUser: PROXY_UID,
    },
    // The mesh config: the control plane reads MESH_CONFIG_FILE there (its --kube default) and follows its changes.
    volumeMounts: [
      { name: MESH_CONFIG_VOLUME, mountPath: MESH_CONFIG_MOUNT_PATH },
      { name: ISTIOD_TLS_SECRET, mountPath: ISTIOD_TLS_MOUNT_PATH, readOnly: true },
    ],
  };
}

export function renderIstiodDeployment(v: InstallValues): KubeObject {
  const noInject = { [LABELS.inject]: 'false' };
  const d: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: ISTIOD_NAME, namespace: v.namespace, labels: { ...ISTIOD_LABELS.deployment } },
    spec: {
      // With an autoscaler the replicas are its to set.
      ...(v.pilot.autoscaleEnabled ? {} : { replicas: 1 }),
      strategy: { rollingUpdate: { maxSurge: '100%', maxUnavailable: '25%' } },
      selector: { matchLabels: { ...ISTIOD_DEPLOYMENT_SELECTOR } },
      template: {
        metadata: {
          labels: { ...ISTIOD_SELECTOR, [OPERATOR_LABELS.rev]: v.revision, ...OWNING_RESOURCE_LABEL, ...noInject, [OPERATOR_LABELS.component]: 'Pilot' },
          annotations: {
            [ANNOTATIONS.prometheusPort]: String(PORTS.controlPlaneDebug),
            [ANNOTATIONS.prometheusScrape]: 'true',
            [ANNOTATIONS.inject]: 'false',
          },
        },
        spec: {
          serviceAccountName: ISTIOD_NAME,
          containers: [discoveryContainer(v)],
          volumes: [
            { name: MESH_CONFIG_VOLUME, configMap: { name: MESH_CONFIGMAP } },
            { name: ISTIOD_TLS_SECRET, secret: { secretName: ISTIOD_TLS_SECRET, optional: true } },
          ],
        },
      },
    },
  };
  return asKubeObject(d);
}
