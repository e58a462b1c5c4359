/**
 * The graph as it is built, before it becomes Kiali's JSON: nodes keyed by Kiali's node id
 * (graph/types.go `Id`), edges per (source, destination, protocol), with their traffic.
 */

export type GraphType = 'workload' | 'app' | 'versionedApp' | 'service';
export type NodeType = 'workload' | 'app' | 'service' | 'unknown' | 'box';

export const UNKNOWN = 'unknown';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

export interface ServiceName {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ResponseDetail {
  readonly flags: Map<string, number>;
  readonly hosts: Map<string, number>;
}

export interface GraphEdge {
  source: GraphNode;
  readonly dest: GraphNode;
  readonly protocol: string;
  readonly rates: Map<string, number>;
  /** By response code ("-" for none): rate per flags and per host. */
  readonly responses: Map<string, ResponseDetail>;
  /** The time series already counted on this edge (Kiali's de-duplication of both reporters). */
  readonly seen: Set<string>;
  responseTime?: number;
  isMTLS?: number;
  throughput?: number;
  sourcePrincipal?: string;
  destPrincipal?: string;
}

export interface GraphNode {
  readonly id: string;
  readonly nodeType: NodeType;
  readonly cluster: string;
  readonly namespace: string;
  readonly workload: string;
  readonly app: string;
  readonly version: string;
  readonly service: string;
  edges: GraphEdge[];
  readonly rates: Map<string, number>;
  readonly destServices: Map<string, ServiceName>;
  /** The label values this node was last reached with (Kiali's `tsHash`). */
  tsHash: string;
  isRoot?: boolean;
  isOutside?: boolean;
  isInaccessible?: boolean;
  isInjected?: boolean;
  isEgressCluster?: boolean;
}

export type TrafficMap = Map<string, GraphNode>;

/** `graph.IsOK`: a telemetry value that is set and not "unknown". */
export const isOK = (v: string | undefined): v is string => v !== undefined && v !== '' && v !== UNKNOWN;
/** `graph.IsOKVersion`: also not "latest" (a canonical revision standing for no version). */
export const isOKVersion = (v: string | undefined): v is string => isOK(v) && v !== 'latest';

export class NodeIdError extends Error {}

/**
 * Kiali's node id and type for the given labels (graph/types.go `Id`). Throws NodeIdError when
 * no id can be made (Kiali skips such rows).
 */
export function nodeId(cluster: string, serviceNs: string, service: string, workloadNs: string, workload: string, app: string, version: string, graphType: GraphType): { id: string; nodeType: NodeType } {
  const namespace = isOK(workloadNs) ? workloadNs : serviceNs;
  if (namespace === UNKNOWN && workload === UNKNOWN && app === UNKNOWN && service === '') return { id: `${cluster}_unknown_source`, nodeType: 'unknown' };
  if (workload === UNKNOWN && app === UNKNOWN && service === UNKNOWN) return { id: `svc_${cluster}_${namespace}_unknown`, nodeType: 'service' };
  const workloadOk = isOK(workload);
  const appOk = isOK(app);
  const serviceOk = isOK(service);
  const what = (): string => `cluster=${cluster} namespace=${namespace} workload=${workload} app=${app} version=${version} service=${service} graphType=${graphType}`;
  if (!workloadOk && !appOk && !serviceOk) throw new NodeIdError(`no workload, app or service: ${what()}`);
  if (graphType === 'workload' || graphType === 'service') {
    if (!workloadOk && !serviceOk) throw new NodeIdError(`no workload or service: ${what()}`);
    if (!workloadOk) return { id: `svc_${cluster}_${namespace}_${service}`, nodeType: 'service' };
    return { id: `wl_${cluster}_${namespace}_${workload}`, nodeType: 'workload' };
  }
  if (appOk) {
    if (graphType === 'versionedApp') {
      if (workloadOk) return { id: `vapp_${cluster}_${namespace}_${workload}`, nodeType: 'app' };
      if (isOKVersion(version)) return { id: `vapp_${cluster}_${namespace}_${app}_${version}`, nodeType: 'app' };
    }
    return { id: `app_${cluster}_${namespace}_${app}`, nodeType: 'app' };
  }
  if (workloadOk) return { id: `wl_${cluster}_${namespace}_${workload}`, nodeType: 'workload' };
  return { id: `svc_${cluster}_${namespace}_${service}`, nodeType: 'service' };
}

/** A new node, its fields trimmed by type as Kiali does (`NewNodeExplicit`). */
export function newNode(id: string, nodeType: NodeType, cluster: string, namespace: string, workload: string, app: string, version: string, service: string, graphType: GraphType): GraphNode {
  let isEgressCluster: boolean | undefined;
  switch (nodeType) {
    case 'app':
      if (graphType !== 'versionedApp') {
        workload = '';
        version = '';
      }
      service = '';
      break;
    case 'service':
      app = '';
      workload = '';
      version = '';
      if (service === PASSTHROUGH_CLUSTER || service === BLACKHOLE_CLUSTER) isEgressCluster = true;
      break;
    case 'workload':
      if (app === UNKNOWN) app = '';
      if (version === UNKNOWN) version = '';
      service = '';
      break;
  }
  return { id, nodeType, cluster, namespace, workload, app, version, service, edges: [], rates: new Map(), destServices: new Map(), tsHash: '', isEgressCluster };
}
