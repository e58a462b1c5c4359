/**
 * A workload as Istio's metrics name it (one side of a request: the proxy's own workload or
 * its peer), where it comes from, and how it travels in Istio's HTTP metadata exchange:
 * - the proxy's own, from its xDS node metadata (`NAME`, `NAMESPACE`, `WORKLOAD_NAME`,
 *   `OWNER`, `CLUSTER_ID`, `LABELS`, as Istio's injector and agent fill them);
 * - a peer's, from the `x-envoy-peer-metadata` header: base64 of the protobuf binary of a
 *   `google.protobuf.Struct` holding those same keys;
 * - else from the endpoint metadata the control plane pushes (`istio.workload`:
 *   `NAME;NAMESPACE;CANONICAL_NAME;CANONICAL_REVISION;CLUSTER`).
 */
import { anyType, structType } from '@minimesh/api';
import { structToJson } from '@minimesh/config';
import { DEFAULT_CLUSTER_ID, LATEST, UNKNOWN } from '@minimesh/mesh';

export interface WorkloadPeer {
  /** The pod's name (Struct `NAME`). */
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly clusterId: string;
  /** `kubernetes://apis/apps/v1/namespaces/NS/deployments/NAME` (Struct `OWNER`). */
  readonly owner: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  /** The SPIFFE identity (Struct `IDENTITY`; none until mTLS). */
  readonly principal: string;
}

/** Every peer label unknown, the canonical revision `latest` (Istio's unknown peer). */
export const UNKNOWN_PEER: WorkloadPeer = Object.freeze({
  name: UNKNOWN,
  namespace: UNKNOWN,
  workloadName: UNKNOWN,
  clusterId: UNKNOWN,
  owner: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: LATEST,
  principal: UNKNOWN,
});

const CANONICAL_NAME = 'service.istio.io/canonical-name';
const CANONICAL_REVISION = 'service.istio.io/canonical-revision';

type Labels = Readonly<Record<string, unknown>>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The peer labels Istio reads from a workload's labels (`app.kubernetes.io/*` win). */
function fromLabels(labels: Labels, workloadName: string): Pick<WorkloadPeer, 'app' | 'version' | 'canonicalService' | 'canonicalRevision'> {
  const app = str(labels['app.kubernetes.io/name']) || str(labels.app);
  const version = str(labels['app.kubernetes.io/version']) || str(labels.version);
  return {
    app: app || UNKNOWN,
    version: version || UNKNOWN,
    canonicalService: str(labels[CANONICAL_NAME]) || app || workloadName || UNKNOWN,
    canonicalRevision: str(labels[CANONICAL_REVISION]) || version || LATEST,
  };
}

/** The proxy's own workload, from its node metadata (and node id as the last resort). */
export function peerFromNodeMetadata(md: Readonly<Record<string, unknown>>, nodeId = ''): WorkloadPeer {
  const idParts = nodeId.split('~');
  const podDotNs = idParts.length === 4 ? idParts[2] : '';
  const dot = podDotNs.lastIndexOf('.');
  const name = str(md.NAME) || str(md.POD_NAME) || (dot > 0 ? podDotNs.slice(0, dot) : '');
  const namespace = str(md.NAMESPACE) || (dot > 0 ? podDotNs.slice(dot + 1) : '');
  const workloadName = str(md.WORKLOAD_NAME) || name;
  const labels = (md.LABELS ?? md.labels ?? {}) as Labels;
  return {
    name: name || UNKNOWN,
    namespace: namespace || UNKNOWN,
    workloadName: workloadName || UNKNOWN,
    clusterId: str(md.CLUSTER_ID) || DEFAULT_CLUSTER_ID,
    owner: str(md.OWNER) || UNKNOWN,
    ...fromLabels(labels, workloadName),
    principal: UNKNOWN,
  };
}

/** The Struct Istio's metadata exchange carries, as JSON (empty fields omitted). */
export function peerStruct(p: WorkloadPeer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: string): void => {
    if (v !== '' && v !== UNKNOWN) out[k] = v;
  };
  put('CLUSTER_ID', p.clusterId);
  put('IDENTITY', p.principal);
  const labels: Record<string, string> = {};
  if (p.app !== UNKNOWN) labels.app = p.app;
  if (p.canonicalService !== UNKNOWN) labels[CANONICAL_NAME] = p.canonicalService;
  labels[CANONICAL_REVISION] = p.canonicalRevision;
  if (p.version !== UNKNOWN) labels.version = p.version;
  out.LABELS = labels;
  put('NAME', p.name);
  put('NAMESPACE', p.namespace);
  put('OWNER', p.owner);
  put('WORKLOAD_NAME', p.workloadName);
  return out;
}

function toStructValue(v: unknown): object {
  if (typeof v === 'string') return { stringValue: v };
  const fields: Record<string, object> = {};
  // Deterministic: keys in sorted order, as protobuf's deterministic serialization writes maps.
  for (const k of Object.keys(v as object).sort()) fields[k] = toStructValue((v as Record<string, unknown>)[k]);
  return { structValue: { fields } };
}

/** `p` as a google.protobuf.Struct message object (protobufjs form, keys sorted: deterministic). */
export function peerStructMessage(p: WorkloadPeer): { fields: Record<string, object> } {
  const s = peerStruct(p);
  const fields: Record<string, object> = {};
  for (const k of Object.keys(s).sort()) fields[k] = toStructValue(s[k]);
  return { fields };
}

/** `x-envoy-peer-metadata`'s value for `p`: base64 (padded) of the Struct's protobuf binary. */
export function encodePeerHeader(p: WorkloadPeer): string {
  const type = structType();
  return Buffer.from(type.encode(type.fromObject(peerStructMessage(p))).finish()).toString('base64');
}

/** Reads a peer's header value; undefined when it is not a Struct (a bad peer is unknown, never an error). */
export function decodePeerHeader(value: string): WorkloadPeer | undefined {
  if (value === '' || value.length > 16384) return undefined;
  try {
    const type = structType();
    const msg = type.decode(Buffer.from(value, 'base64'));
    return peerFromStructJson(structToJson(type.toObject(msg, { oneofs: true })));
  } catch {
    return undefined;
  }
}

/** A peer from the Struct Istio's exchange carries, as JSON; undefined when it names no workload. */
export function peerFromStructJson(json: Record<string, unknown>): WorkloadPeer | undefined {
  const workloadName = str(json.WORKLOAD_NAME);
  const labels = (json.LABELS !== null && typeof json.LABELS === 'object' ? json.LABELS : {}) as Labels;
  if (workloadName === '' && str(json.NAMESPACE) === '' && Object.keys(labels).length === 0) return undefined;
  return {
    name: str(json.NAME) || UNKNOWN,
    namespace: str(json.NAMESPACE) || UNKNOWN,
    workloadName: workloadName || UNKNOWN,
    clusterId: str(json.CLUSTER_ID) || UNKNOWN,
    owner: str(json.OWNER) || UNKNOWN,
    ...fromLabels(labels, ''),
    principal: str(json.IDENTITY) || UNKNOWN,
  };
}

/** A peer from endpoint metadata `istio.workload` (`NAME;NAMESPACE;CANONICAL_NAME;REVISION;CLUSTER`). */
export function peerFromEndpointMetadata(workload: string): WorkloadPeer | undefined {
  if (workload === '') return undefined;
  const [name, namespace, canonical, revision, cluster] = workload.split(';');
  if (!name && !namespace) return undefined;
  return {
    ...UNKNOWN_PEER,
    workloadName: name || UNKNOWN,
    namespace: namespace || UNKNOWN,
    canonicalService: canonical || UNKNOWN,
    canonicalRevision: revision || LATEST,
    clusterId: cluster || UNKNOWN,
  };
}

/**
 * Decoded peers by header value: the same few values repeat on every request, so each is
 * decoded once. Bounded: a peer sending ever-new values only costs decodes.
 */
export class PeerCache {
  private readonly map = new Map<string, WorkloadPeer>();
  constructor(private readonly max = 1024) {}

  get(value: string): WorkloadPeer {
    let p = this.map.get(value);
    if (p === undefined) {
      const decoded = decodePeerHeader(value);
      // What does not decode is not kept (it would only hold memory).
      if (decoded === undefined) return UNKNOWN_PEER;
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(value, (p = decoded));
    }
    return p;
  }
}
