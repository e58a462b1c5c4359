/**
 * Rows of traffic into a traffic map, as Kiali's `populateTrafficMap`/`addTraffic` do: nodes
 * by Kiali id, one edge per (source, destination, protocol), a service node injected between a
 * client and the destination workload, and each time series counted once per edge however many
 * reporters saw it (the hash is metric, both ends' labels, code, flags and host; not reporter).
 */
import { addToMetadata } from './graph-protocols.js';
import { newNode, nodeId, type GraphEdge, type GraphNode, type GraphType, type TrafficMap } from './graph-types.js';
import type { Row } from './traffic-query.js';
import { DEST_LABELS, responseCode, rowEnds, SOURCE_LABELS, type RowOptions } from './traffic-rows.js';

const REQUIRED = [...SOURCE_LABELS, ...DEST_LABELS, 'destination_service', 'response_flags'];

/** Adds (or finds) the node for these labels; undefined when Kiali cannot id it. */
export function addNode(map: TrafficMap, cluster: string, serviceNs: string, service: string, workloadNs: string, workload: string, app: string, version: string, graphType: GraphType): GraphNode | undefined {
  let id;
  try {
    id = nodeId(cluster, serviceNs, service, workloadNs, workload, app, version, graphType);
  } catch {
    return undefined;
  }
  let node = map.get(id.id);
  if (!node) {
    const namespace = workloadNs !== '' && workloadNs !== 'unknown' ? workloadNs : serviceNs;
    node = newNode(id.id, id.nodeType, cluster, namespace, workload, app, version, service, graphType);
    map.set(id.id, node);
  }
  node.tsHash = [cluster, serviceNs, service, workloadNs, workload, app, version].join(':');
  return node;
}

function addEdgeTraffic(v: number, protocol: string, code: string, flags: string, host: string, source: GraphNode, dest: GraphNode, tsHash: string): boolean {
  let edge: GraphEdge | undefined = source.edges.find((e) => e.dest.id === dest.id && e.protocol === protocol);
  if (!edge) {
    edge = { source, dest, protocol, rates: new Map(), responses: new Map(), seen: new Set() };
    source.edges.push(edge);
  }
  if (edge.seen.has(tsHash)) return false;
  edge.seen.add(tsHash);
  addToMetadata(protocol, v, code, flags, host, source, dest, edge);
  return true;
}

function addDestService(node: GraphNode, cluster: string, namespace: string, name: string): void {
  if (name === '' || name === 'unknown') return;
  node.destServices.set(`${cluster} ${namespace} ${name}`, { cluster, namespace, name });
}

/** One query's rows into the map; `metric` decides the protocol of TCP rows. */
export function populateTrafficMap(map: TrafficMap, rows: readonly Row[], metric: string, o: RowOptions): void {
  const isTcp = metric.startsWith('istio_tcp');
  for (const { labels, value } of rows) {
    const ends = rowEnds(labels, REQUIRED, o);
    if (!ends) continue;
    let protocol = 'tcp';
    let code = '';
    if (!isTcp) {
      if (labels.request_protocol === undefined || labels.response_code === undefined) continue;
      protocol = labels.request_protocol;
      // Kiali knows http, grpc and tcp; a row of another protocol would only add empty nodes.
      if (protocol !== 'http' && protocol !== 'grpc') continue;
      code = responseCode(protocol, labels.response_code, labels.grpc_response_status);
    }
    const flags = labels.response_flags;
    const host = ends.destSvc;
    const e = ends;
    const source = addNode(map, e.sourceCluster, e.sourceWlNs, '', e.sourceWlNs, e.sourceWl, e.sourceApp, e.sourceVer, o.graphType);
    if (!source) continue;
    const sourceHash = source.tsHash;
    const dest = addNode(map, e.destCluster, e.destSvcNs, e.destSvcName, e.destWlNs, e.destWl, e.destApp, e.destVer, o.graphType);
    if (!dest) continue;
    const tsHash = [metric, sourceHash, dest.tsHash, code, flags, host].join('\u0000');
    if (e.inject) {
      const svc = addNode(map, e.destCluster, e.destSvcNs, e.destSvcName, '', '', '', '', o.graphType);
      if (!svc) continue;
      svc.isInjected = true;
      if (addEdgeTraffic(value, protocol, code, flags, host, source, svc, tsHash)) {
        addDestService(svc, e.destCluster, e.destSvcNs, e.destSvcName);
        addEdgeTraffic(value, protocol, code, flags, host, svc, dest, tsHash);
        addDestService(dest, e.destCluster, e.destSvcNs, e.destSvcName);
      }
    } else if (addEdgeTraffic(value, protocol, code, flags, host, source, dest, tsHash)) {
      addDestService(dest, e.destCluster, e.destSvcNs, e.destSvcName);
    }
  }
}
