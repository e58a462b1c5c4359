/**
 * Istio's proxy identity: node id `sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`
 * (`router~…` for gateways) plus the pod's labels, from the node metadata or the model.
 */
import type { MeshModel } from './mesh-model.js';
import { ISTIO_LOCALITY_LABEL, parseLocality, type LocalityModel } from './locality.js';

export type ProxyType = 'sidecar' | 'router';

export interface ProxyIdentity {
  readonly id: string;
  readonly type: ProxyType;
  readonly ip: string;
  readonly podName: string;
  readonly namespace: string;
  readonly dnsDomain: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Where the proxy runs: `node.locality`, else its `istio-locality` label, else its pod's (Node labels). */
  readonly locality?: LocalityModel;
}

export function formatNodeId(p: { type: ProxyType; ip: string; podName: string; namespace: string; domainSuffix?: string }): string {
  return `${p.type}~${p.ip}~${p.podName}.${p.namespace}~${p.namespace}.svc.${p.domainSuffix ?? 'cluster.local'}`;
}

/** Parses a node id; throws with the reason when it is not Istio's form. */
export function parseNodeId(id: string): Omit<ProxyIdentity, 'labels'> {
  const parts = id.split('~');
  if (parts.length !== 4) throw new Error(`node id ${JSON.stringify(id)}: expected TYPE~IP~POD.NAMESPACE~NAMESPACE.svc.DOMAIN`);
  const [type, ip, podDotNs, dnsDomain] = parts;
  if (type !== 'sidecar' && type !== 'router') throw new Error(`node id ${JSON.stringify(id)}: type must be sidecar or router (got ${JSON.stringify(type)})`);
  if (!ip) throw new Error(`node id ${JSON.stringify(id)}: IP is empty`);
  const dot = podDotNs.lastIndexOf('.');
  if (dot <= 0 || dot === podDotNs.length - 1) throw new Error(`node id ${JSON.stringify(id)}: expected POD.NAMESPACE, got ${JSON.stringify(podDotNs)}`);
  return { id, type, ip, podName: podDotNs.slice(0, dot), namespace: podDotNs.slice(dot + 1), dnsDomain };
}

/**
 * The identity of a connecting proxy. Labels come from its node metadata (`LABELS` as Istio's
 * agent sends them, or `labels`), else from the pod of that name in the model.
 */
export function proxyIdentity(
  id: string,
  metadata: Readonly<Record<string, unknown>> = {},
  model?: MeshModel,
  nodeLocality?: Readonly<{ region?: string; zone?: string; sub_zone?: string }>,
): ProxyIdentity {
  const base = parseNodeId(id);
  const fromMeta = (metadata.LABELS ?? metadata.labels) as Record<string, string> | undefined;
  const workload = model?.workloads.find((w) => w.namespace === base.namespace && (w.name === base.podName || w.address === base.ip));
  const labels = { ...(workload?.labels ?? {}), ...(fromMeta ?? {}) };
  const sent = nodeLocality ? { region: nodeLocality.region ?? '', zone: nodeLocality.zone ?? '', subZone: nodeLocality.sub_zone ?? '' } : undefined;
  const locality = (sent && (sent.region || sent.zone || sent.subZone) ? sent : undefined) ?? parseLocality(labels[ISTIO_LOCALITY_LABEL], '.') ?? workload?.locality;
  return { ...base, labels, ...(locality ? { locality } : {}) };
}
