/**
 * Workload auto-registration for the local mesh (Istio does the same for VMs with
 * WorkloadEntry auto-registration): a folder of YAML carries Deployments but no Pods, so each
 * connected sidecar stands for its pod. Its node id gives the pod name, namespace and IP, its
 * metadata the labels (`LABELS`, as Istio's agent sends them); container ports come from the
 * Deployment whose template labels match. Services then select these pods as in Kubernetes.
 * A registered pod runs a sidecar, so it takes mTLS (label `security.istio.io/tlsMode: istio`,
 * as the injector sets it), and its service account is the node metadata's `SERVICE_ACCOUNT`
 * (`default` without one). A gateway (`router`) is registered without that label: sidecars
 * reach its plain servers in plain text (Istio's egress gateway task).
 */
import type { Deployment, KubeResource, Pod } from '@minimesh/kube';
import { parseNodeId } from '../model/proxy-identity.js';
import { TLS_MODE_LABEL } from '../model/build-mesh-model.js';

export function podFromProxy(nodeId: string, metadata: Readonly<Record<string, unknown>>, resources: readonly KubeResource[]): Pod | undefined {
  let id;
  try {
    id = parseNodeId(nodeId);
  } catch {
    return undefined;
  }
  const labels = { ...((metadata.LABELS ?? metadata.labels ?? {}) as Record<string, string>) };
  const serviceAccount = typeof metadata.SERVICE_ACCOUNT === 'string' && metadata.SERVICE_ACCOUNT !== '' ? metadata.SERVICE_ACCOUNT : 'default';
  const deployment = resources.find(
    (r): r is Deployment =>
      r.kind === 'Deployment' &&
      (r.metadata.namespace ?? 'default') === id.namespace &&
      Object.keys(r.spec?.template?.metadata?.labels ?? {}).length > 0 &&
      Object.entries(r.spec?.template?.metadata?.labels ?? {}).every(([k, v]) => labels[k] === v),
  );
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    // A gateway (router) takes no mesh mTLS on its plain servers: like Istio's gateway pods, no tlsMode label.
    metadata: { name: id.podName, namespace: id.namespace, labels: id.type === 'router' ? labels : { ...labels, [TLS_MODE_LABEL]: 'istio' } },
    spec: { containers: deployment?.spec?.template?.spec?.containers ?? [{ name: 'app', image: 'local' }], serviceAccountName: serviceAccount },
    status: { podIP: id.ip, phase: 'Running' },
  } as Pod;
}
