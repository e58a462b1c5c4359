/**
 * How Kiali reads one row of telemetry (graph/telemetry/istio/util): required labels, absent
 * cluster labels, bad source and destination telemetry dropped, destination_cluster defaulted
 * to the source's (istio#29373), the egress gateway, response codes, and whether a service
 * node is injected between the source and the destination workload.
 */
import type { Labels } from './exposition-parser.js';
import { isHttpErr } from './graph-protocols.js';
import { isOK, nodeId, PASSTHROUGH_CLUSTER, UNKNOWN, type GraphType } from './graph-types.js';

export interface RowEnds {
  readonly sourceCluster: string;
  readonly sourceWlNs: string;
  readonly sourceWl: string;
  readonly sourceApp: string;
  readonly sourceVer: string;
  readonly destCluster: string;
  readonly destSvcNs: string;
  readonly destSvc: string;
  readonly destSvcName: string;
  readonly destWlNs: string;
  readonly destWl: string;
  readonly destApp: string;
  readonly destVer: string;
  /** A service node goes between source and destination. */
  readonly inject: boolean;
}

export interface RowOptions {
  readonly graphType: GraphType;
  readonly injectServiceNodes: boolean;
  /** Where Kiali looks for the egress gateway (its `istio_namespace`). */
  readonly controlPlaneNamespace?: string;
}

export const SOURCE_LABELS = ['source_workload_namespace', 'source_workload', 'source_canonical_service', 'source_canonical_revision'] as const;
export const DEST_LABELS = ['destination_service_namespace', 'destination_service_name', 'destination_workload_namespace', 'destination_workload', 'destination_canonical_service', 'destination_canonical_revision'] as const;

/** The labels absent from a row, of those required. */
export function missingLabels(labels: Labels, required: readonly string[]): string[] {
  return required.filter((l) => labels[l] === undefined);
}

const IP_SERVICE = /^\d+\.\d+\.\d+\.\d+(:\d+)?$/;

/**
 * The two ends of a row, or undefined when Kiali would skip it. `required` must include the
 * source and destination labels the caller's query groups by.
 */
export function rowEnds(labels: Labels, required: readonly string[], o: RowOptions): RowEnds | undefined {
  if (missingLabels(labels, required).length) return undefined;
  const sourceClusterOk = labels.source_cluster !== undefined;
  const destClusterOk = labels.destination_cluster !== undefined;
  const sourceCluster = sourceClusterOk ? labels.source_cluster : UNKNOWN;
  let destCluster = destClusterOk ? labels.destination_cluster : UNKNOWN;
  const sourceWlNs = labels.source_workload_namespace;
  const sourceWl = labels.source_workload;
  const sourceApp = labels.source_canonical_service;
  const sourceVer = labels.source_canonical_revision;
  // Bad source telemetry: a known namespace with neither workload nor app; or a cluster label present but unknown.
  if (isOK(sourceWlNs) && !isOK(sourceWl) && !isOK(sourceApp)) return undefined;
  if (isOK(sourceWlNs) && sourceClusterOk && !isOK(sourceCluster)) return undefined;
  let destSvcNs = labels.destination_service_namespace;
  const destSvc = labels.destination_service ?? '';
  let destSvcName = labels.destination_service_name;
  let destWlNs = labels.destination_workload_namespace;
  let destWl = labels.destination_workload;
  let destApp = labels.destination_canonical_service;
  let destVer = labels.destination_canonical_revision;
  const cpNs = o.controlPlaneNamespace ?? 'istio-system';
  const egress = `istio-egressgateway.${cpNs}.svc.cluster.local`;
  if (destSvc === egress && destSvc === destSvcName) {
    destCluster = sourceCluster;
    destSvcNs = cpNs;
    destSvcName = 'istio-egressgateway';
    destWlNs = cpNs;
    destWl = 'istio-egressgateway';
    destApp = 'istio-egressgateway';
    destVer = 'latest';
  } else if (!isOK(destCluster) && isOK(sourceCluster) && isOK(destSvcNs)) {
    destCluster = sourceCluster;
  }
  // Bad destination telemetry: an IP for a service with no workload; or a cluster label present but unknown.
  if (!isOK(destWl) && isOK(destSvc) && isOK(destSvcName) && destSvc === destSvcName && IP_SERVICE.test(destSvcName)) return undefined;
  if (isOK(destSvcNs) && destClusterOk && !isOK(destCluster)) return undefined;
  let inject = false;
  if (o.injectServiceNodes && isOK(destSvcName) && destSvcName !== PASSTHROUGH_CLUSTER) {
    try {
      inject = nodeId(destCluster, destSvcNs, destSvcName, destWlNs, destWl, destApp, destVer, o.graphType).nodeType !== 'service';
    } catch {
      return undefined;
    }
  }
  return { sourceCluster, sourceWlNs, sourceWl, sourceApp, sourceVer, destCluster, destSvcNs, destSvc, destSvcName, destWlNs, destWl, destApp, destVer, inject };
}

/** Kiali's `HandleResponseCode`: "-" for no response; gRPC status unless the HTTP code is an error. */
export function responseCode(protocol: string, code: string, grpcStatus: string | undefined): string {
  if (code === '0') return '-';
  if (protocol !== 'grpc' || isHttpErr(code) || grpcStatus === undefined) return code;
  return grpcStatus;
}

/** The node ids of a row's source and destination (the injected service's when `inject`). */
export function rowNodeIds(e: RowEnds, graphType: GraphType, viaService: boolean): { sourceId: string; destId: string } | undefined {
  try {
    const sourceId = viaService
      ? nodeId(e.destCluster, e.destSvcNs, e.destSvcName, e.destSvcNs, '', '', '', graphType).id
      : nodeId(e.sourceCluster, e.sourceWlNs, '', e.sourceWlNs, e.sourceWl, e.sourceApp, e.sourceVer, graphType).id;
    const destId = nodeId(e.destCluster, e.destSvcNs, e.destSvcName, e.destWlNs, e.destWl, e.destApp, e.destVer, graphType).id;
    return { sourceId, destId };
  } catch {
    return undefined;
  }
}

/** The node id of the service injected for a row (source → service edge). */
export function injectedServiceId(e: RowEnds, graphType: GraphType): string | undefined {
  try {
    return nodeId(e.destCluster, e.destSvcNs, e.destSvcName, '', '', '', '', graphType).id;
  } catch {
    return undefined;
  }
}

export function sourceNodeId(e: RowEnds, graphType: GraphType): string | undefined {
  try {
    return nodeId(e.sourceCluster, e.sourceWlNs, '', e.sourceWlNs, e.sourceWl, e.sourceApp, e.sourceVer, graphType).id;
  } catch {
    return undefined;
  }
}
