/**
 * `istio-proxy`: `minimesh proxy` as uid 1337, fed by the control plane over xDS (TLS on 15012,
 * trusting the root ConfigMap mounted as Istio mounts it), with Istio's ports, probes,
 * downward-API env and security context.
 */
import { ISTIO_TOKEN_AUDIENCE, ISTIO_TOKEN_EXPIRATION_SECONDS, ISTIO_TOKEN_MOUNT_PATH, ISTIO_TOKEN_VOLUME, PORTS, ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY, ROOT_CERT_MOUNT_PATH, ROOT_CERT_VOLUME } from '@minimesh/mesh';
import { PROXY_CONTAINER_NAME } from './injection-keys.js';
import { xdsOverTls, type InjectOptions } from './inject-options.js';
import type { Container, EnvVar, Pod } from './kube-types.js';
import { SIDECAR_RESOURCES } from './init-container.js';
import { CLUSTER_ID, MESH_ID, workloadEnv, type WorkloadRef } from './workload-identity.js';
import { annotatedConcurrency } from './proxy-config-annotation.js';

/** The two volumes every proxy mounts (its emptyDir, the downward-API pod info); gateways reuse them. */
export const BASE_VOLUMES = [
  { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
  {
    name: 'istio-podinfo',
    downwardAPI: {
      items: [
        { fieldRef: { fieldPath: 'metadata.labels' }, path: 'labels' },
        { fieldRef: { fieldPath: 'metadata.annotations' }, path: 'annotations' },
      ],
    },
  },
];

/**
 * The pod's service-account token for the control plane's CA (audience istio-ca, 12 h), as
 * Istio's template projects it: the proxy sends it to get its workload certificate.
 */
export const ISTIO_TOKEN_VOLUME_SPEC = {
  name: ISTIO_TOKEN_VOLUME,
  projected: { sources: [{ serviceAccountToken: { audience: ISTIO_TOKEN_AUDIENCE, expirationSeconds: ISTIO_TOKEN_EXPIRATION_SECONDS, path: 'istio-token' } }] },
};

/** The namespace's root certificate (published by the control plane), for TLS to it. */
const ROOT_CERT_VOLUME_SPEC = { name: ROOT_CERT_VOLUME, configMap: { name: ROOT_CERT_CONFIGMAP } };
const ROOT_CERT_FILE = `${ROOT_CERT_MOUNT_PATH}/${ROOT_CERT_KEY}`;

/**
 * The pod volumes the sidecar needs. The root ConfigMap and the CA token only with TLS to the
 * control plane: a pod told to use a plain-text control plane does not wait for a ConfigMap it
 * never reads, nor send its token in the clear.
 */
export function proxyVolumes(o: InjectOptions): { name: string; [k: string]: unknown }[] {
  return structuredClone(xdsOverTls(o.xdsAddress) ? [...BASE_VOLUMES, ISTIO_TOKEN_VOLUME_SPEC, ROOT_CERT_VOLUME_SPEC] : BASE_VOLUMES);
}

/**
 * `minimesh proxy`'s arguments: the control plane, over TLS the root it must chain to, and the
 * worker count (`--concurrency`, as Istio's template passes it: the pod's annotation, else the
 * mesh-wide default).
 */
export function proxyArgs(o: InjectOptions, concurrency: number = o.concurrency): string[] {
  return ['proxy', '--xds', o.xdsAddress, ...(xdsOverTls(o.xdsAddress) ? ['--xds-ca', ROOT_CERT_FILE] : []), '--concurrency', String(concurrency)];
}

const fieldEnv = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

const READY = { path: '/healthz/ready', port: PORTS.health };

/** Ports the app declares, as Istio passes them to the proxy (ISTIO_META_POD_PORTS). */
function podPorts(pod: Pod): string {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  return JSON.stringify(ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, ...(p.protocol ? { protocol: p.protocol } : {}) })));
}

export function buildProxyContainer(pod: Pod, o: InjectOptions, workload: WorkloadRef): Container {
  const c: Container = {
    name: PROXY_CONTAINER_NAME,
    image: o.image,
    ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
    args: proxyArgs(o, annotatedConcurrency(pod) ?? o.concurrency),
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
      fieldEnv('HOST_IP', 'status.hostIP'),
      { name: 'ISTIO_META_POD_PORTS', value: podPorts(pod) },
      { name: 'ISTIO_META_APP_CONTAINERS', value: (pod.spec?.containers ?? []).map((x) => x.name).join(',') },
      { name: 'ISTIO_META_CLUSTER_ID', value: CLUSTER_ID },
      fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
      { name: 'ISTIO_META_INTERCEPTION_MODE', value: 'REDIRECT' },
      // The workload identity the proxy's metrics carry (its labels: /etc/istio/pod/labels below).
      ...workloadEnv(pod, workload),
      { name: 'ISTIO_META_MESH_ID', value: MESH_ID },
    ],
    ports: [{ containerPort: PORTS.prometheus, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: { httpGet: { ...READY }, failureThreshold: 4, periodSeconds: 15, timeoutSeconds: 3 },
    startupProbe: { httpGet: { ...READY }, failureThreshold: 600, periodSeconds: 1, timeoutSeconds: 3 },
    resources: structuredClone(SIDECAR_RESOURCES),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: o.proxyGid,
      runAsNonRoot: true,
      runAsUser: o.proxyUid,
    },
    volumeMounts: [
      ...(xdsOverTls(o.xdsAddress) ? [{ mountPath: ROOT_CERT_MOUNT_PATH, name: ROOT_CERT_VOLUME, readOnly: true }] : []),
      { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
      ...(xdsOverTls(o.xdsAddress) ? [{ mountPath: ISTIO_TOKEN_MOUNT_PATH, name: ISTIO_TOKEN_VOLUME }] : []),
      { mountPath: '/etc/istio/pod', name: 'istio-podinfo' },
    ],
  };
  if (o.mode === 'native') {
    c.restartPolicy = 'Always';
  } else {
    // Old clusters: the kubelet starts containers in order and runs postStart before the
    // next one, so the app starts only once the proxy answers /healthz/ready.
    c.lifecycle = {
      postStart: { exec: { command: ['minimesh', 'wait-ready', '--url', `http://127.0.0.1:${PORTS.health}/healthz/ready`, '--timeout-s', '60'] } },
    };
  }
  return c;
}
