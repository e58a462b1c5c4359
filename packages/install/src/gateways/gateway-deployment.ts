/**
 * A gateway's Deployment: `minimesh proxy --type router`, fed over TLS xDS by the control plane
 * (the root from ConfigMap istio-ca-root-cert), with the env, volumes and security context an
 * injected sidecar gets, and Istio's gateway labels, annotations and probe (facts §2.6).
 */
import { ISTIO_TOKEN_MOUNT_PATH, ISTIO_TOKEN_VOLUME, OPERATOR_LABELS, PORTS, PROXY_GID, PROXY_UID, ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY, ROOT_CERT_MOUNT_PATH, ROOT_CERT_VOLUME, istiodSecureXdsAddress } from '@minimesh/mesh';
import { ANNOTATIONS, LABELS, PROXY_CONTAINER_NAME } from '@minimesh/injector/injection-keys';
import { BASE_VOLUMES, ISTIO_TOKEN_VOLUME_SPEC } from '@minimesh/injector/proxy-container';
import { CLUSTER_ID, MESH_ID, ownerUri } from '@minimesh/injector/workload-identity';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { gatewayLabels, gatewaySelector } from './gateway-labels.js';
import type { GatewaySpec } from './gateway-spec.js';

/** Where the injector mounts its volumes in istio-proxy (emptyDir, the CA token, downward-API pod info). */
export const PROXY_VOLUME_MOUNTS = [
  { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
  { name: ISTIO_TOKEN_VOLUME, mountPath: ISTIO_TOKEN_MOUNT_PATH },
  { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
] as const;

/** `proxy --type router --xds istiod.istio-system.svc:15012 --xds-ca /var/run/secrets/istio/root-cert.pem`. */
export function gatewayArgs(namespace: string): string[] {
  return ['proxy', '--type', 'router', '--xds', istiodSecureXdsAddress(namespace), '--xds-ca', `${ROOT_CERT_MOUNT_PATH}/${ROOT_CERT_KEY}`];
}

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

function proxyContainer(g: GatewaySpec, v: InstallValues): IContainer {
  const ready = { path: '/healthz/ready', port: PORTS.health };
  return {
    name: PROXY_CONTAINER_NAME,
    image: v.image,
    imagePullPolicy: v.imagePullPolicy,
    args: gatewayArgs(v.namespace),
    ports: [...g.ports.map((p) => ({ containerPort: p.targetPort, protocol: 'TCP' as const })), { containerPort: PORTS.prometheus, name: 'http-envoy-prom', protocol: 'TCP' as const }],
    readinessProbe: { httpGet: ready, failureThreshold: 30, initialDelaySeconds: 1, periodSeconds: 2, successThreshold: 1, timeoutSeconds: 1 },
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
      fieldEnv('HOST_IP', 'status.hostIP'),
      { name: 'ISTIO_META_CLUSTER_ID', value: CLUSTER_ID },
      fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
      { name: 'ISTIO_META_WORKLOAD_NAME', value: g.name },
      { name: 'ISTIO_META_OWNER', value: ownerUri({ kind: 'Deployment', apiVersion: 'apps/v1', name: g.name }, v.namespace) },
      { name: 'ISTIO_META_MESH_ID', value: MESH_ID },
    ],
    resources: structuredClone(g.values.resources) as IContainer['resources'],
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true },
    volumeMounts: [{ name: ROOT_CERT_VOLUME, mountPath: ROOT_CERT_MOUNT_PATH, readOnly: true }, ...PROXY_VOLUME_MOUNTS.map((m) => ({ ...m }))],
  };
}

export function renderGatewayDeployment(g: GatewaySpec, v: InstallValues): KubeObject {
  const d: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: g.name, namespace: v.namespace, labels: gatewayLabels(g) },
    spec: {
      ...(g.values.autoscaleEnabled ? {} : { replicas: 1 }),
      strategy: { rollingUpdate: { maxSurge: '100%', maxUnavailable: '25%' } },
      selector: { matchLabels: gatewaySelector(g) },
      template: {
        metadata: {
          labels: {
            ...gatewaySelector(g),
            [OPERATOR_LABELS.rev]: v.revision,
            [OPERATOR_LABELS.component]: g.component,
            [LABELS.inject]: 'false',
            [LABELS.canonicalName]: g.name,
            [LABELS.canonicalRevision]: 'latest',
            'app.kubernetes.io/name': g.name,
          },
          annotations: {
            [ANNOTATIONS.prometheusPort]: String(PORTS.mergedMetrics),
            [ANNOTATIONS.prometheusScrape]: 'true',
            [ANNOTATIONS.prometheusPath]: '/stats/prometheus',
            [ANNOTATIONS.inject]: 'false',
          },
        },
        spec: {
          serviceAccountName: g.serviceAccount,
          securityContext: { runAsUser: PROXY_UID, runAsGroup: PROXY_GID, runAsNonRoot: true },
          containers: [proxyContainer(g, v)],
          volumes: [{ name: ROOT_CERT_VOLUME, configMap: { name: ROOT_CERT_CONFIGMAP } }, ...(structuredClone([...BASE_VOLUMES, ISTIO_TOKEN_VOLUME_SPEC]) as IVolume[])],
        },
      },
    },
  };
  return asKubeObject(d);
}
