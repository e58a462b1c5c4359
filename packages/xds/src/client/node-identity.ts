/** The `node` a client sends on the first request of each stream. */

export interface XdsNode {
  readonly id: string;
  readonly cluster?: string;
  /** Plain JSON; sent as a google.protobuf.Struct. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** `node.locality` (Envoy's region / zone / sub_zone), when the proxy knows where it runs. */
  readonly locality?: Readonly<{ region?: string; zone?: string; sub_zone?: string }>;
}

/** Plain JSON -> google.protobuf.Struct in plain-object form. */
export function jsonToStruct(obj: Readonly<Record<string, unknown>>): { fields: Record<string, object> } {
  const fields: Record<string, object> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = jsonToValue(v);
  return { fields };
}

function jsonToValue(v: unknown): object {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

/** The node message: id, cluster, metadata, and who we are. */
export function nodeMessage(n: XdsNode): object {
  return {
    id: n.id,
    cluster: n.cluster ?? '',
    ...(n.metadata ? { metadata: jsonToStruct(n.metadata) } : {}),
    ...(n.locality ? { locality: n.locality } : {}),
    user_agent_name: 'minimesh',
    user_agent_version: '0.1.0',
  };
}

/**
 * Istio's node id: `TYPE~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`
 * (`sidecar` for a sidecar, `router` for a gateway).
 */
export function istioNodeId(type: 'sidecar' | 'router', ip: string, pod: string, namespace: string, domain = 'cluster.local'): string {
  return `${type}~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}
