/**
 * `istio-proxy`: `minimesh proxy` as uid 1337, fed by the control plane over xDS, with
 * Istio's ports, probes, downward-API env and security context.
 */
import { PORTS } from '@minimesh/mesh';
import { PROXY_CONTAINER_NAME } from './injection-keys.js';
import type { InjectOptions } from './inject-options.js';
import type { Container, EnvVar, Pod } from './kube-types.js';
import { SIDECAR_RESOURCES } from './init-container.js';
import { CLUSTER_ID, MESH_ID, workloadEnv, type WorkloadRef } from './workload-identity.js';

export const PROXY_VOLUMES = [
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
    args: ['proxy', '--xds', o.xdsAddress],
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
      { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
      { mountPath: '/etc/istio/pod', name: 'istio-podinfo' },
    ],
  };
  if (o.imagePullPolicy) c.imagePullPolicy = o.imagePullPolicy;
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
