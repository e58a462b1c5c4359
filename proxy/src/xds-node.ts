/**
 * The proxy's xDS node identity (id, cluster, metadata, locality) from its flags, the
 * environment Istio's injector sets and the pod's labels file. Kept apart from xds-mode.ts so
 * that a proxy on a static bootstrap never loads the xDS client (gRPC and its protos).
 */
import { istioNodeId, type XdsNode } from '@minimesh/xds/client/node-identity';
import { log } from './log.js';
import { POD_LABELS_FILE, readPodLabels } from './pod-labels.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Istio's service cluster for a pod: its workload name (the pod name without the ReplicaSet and pod hashes) `.namespace`. */
export function defaultNodeCluster(pod: string | undefined, namespace: string): string {
  if (!pod) return 'istio-proxy';
  const m = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/.exec(pod);
  return `${m ? m[1] : pod}.${namespace}`;
}

/**
 * The node identity: flags win, then the environment Istio's injector sets (POD_NAME,
 * POD_NAMESPACE, INSTANCE_IP, ISTIO_META_* as strings, ISTIO_METAJSON_* as JSON), and the
 * pod's labels from /etc/istio/pod/labels when no ISTIO_METAJSON_LABELS names them.
 */
export function nodeFromEnv(type: 'sidecar' | 'router', flags: { id?: string; cluster?: string }, env: Env = process.env, labelsFile = POD_LABELS_FILE): XdsNode {
  const ns = env.POD_NAMESPACE || 'default';
  const pod = env.POD_NAME || env.HOSTNAME || 'minimesh-proxy';
  const ip = env.INSTANCE_IP || '127.0.0.1';
  const metadata: Record<string, unknown> = { NAMESPACE: ns, POD_NAME: pod, INSTANCE_IPS: ip };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('ISTIO_METAJSON_')) {
      try {
        metadata[k.slice('ISTIO_METAJSON_'.length)] = JSON.parse(v);
      } catch {
        log.warn({ env: k }, 'not JSON, ignored');
      }
    } else if (k.startsWith('ISTIO_META_')) metadata[k.slice('ISTIO_META_'.length)] = v;
  }
  // In a pod, the labels come from the downward-API file the injector mounts (as Istio's agent).
  if (metadata.LABELS === undefined) {
    const labels = readPodLabels(labelsFile);
    if (labels !== undefined) metadata.LABELS = labels;
  }
  const locality = localityFromLabels(metadata.LABELS);
  return {
    id: flags.id ?? istioNodeId(type, ip, pod, ns),
    cluster: flags.cluster ?? defaultNodeCluster(env.POD_NAME, ns),
    metadata,
    ...(locality ? { locality } : {}),
  };
}

/**
 * `node.locality` from the pod's `istio-locality` label (`region.zone.subzone`), as Istio's agent
 * sets it; without the label the control plane finds the locality from the pod's Node.
 */
export function localityFromLabels(labels: unknown): { region: string; zone: string; sub_zone: string } | undefined {
  const v = (labels as Record<string, unknown> | undefined)?.['istio-locality'];
  if (typeof v !== 'string' || v === '') return undefined;
  const [region = '', zone = '', sub_zone = ''] = v.split('.');
  return { region, zone, sub_zone };
}
