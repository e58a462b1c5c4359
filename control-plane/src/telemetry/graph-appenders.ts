/**
 * What Kiali does to a traffic map after the traffic rows (graph/telemetry/istio/appender,
 * finalizer, telemetry/common.go):
 *   responseTime    the quantile per edge, destination-reported first (first value wins); on
 *                   injected services only the service -> workload edge gets it
 *   securityPolicy  isMTLS = mutual_tls share of the destination-reported rate, and principals
 *   throughput      response bytes/s per HTTP edge
 *   merge           namespace maps into one, duplicate edges dropped
 *   outsider        isOutside for nodes of namespaces not asked for, isInaccessible for unknown ones
 *   trafficGenerator isRoot for nodes that only send
 *   reduceToServiceGraph  the service graph: workloads removed, service -> service edges
 */
import { addOutgoing, aggregateEdge, resetOutgoing } from './graph-protocols.js';
import { UNKNOWN, type GraphEdge, type GraphType, type TrafficMap } from './graph-types.js';
import type { Row } from './traffic-query.js';
import { DEST_LABELS, rowEnds, rowNodeIds, SOURCE_LABELS, type RowOptions } from './traffic-rows.js';

function forEachEdge(map: TrafficMap, fn: (e: GraphEdge) => void): void {
  for (const n of map.values()) for (const e of n.edges) fn(e);
}

/** Edge responseTime from the quantile rows (incoming query's rows first). */
export function applyResponseTime(map: TrafficMap, rows: readonly Row[], o: RowOptions): void {
  const times = new Map<string, number>();
  const required = [...SOURCE_LABELS, ...DEST_LABELS, 'destination_service', 'request_protocol'];
  for (const { labels, value } of rows) {
    const protocol = labels.request_protocol;
    if (protocol !== 'http' && protocol !== 'grpc') continue;
    const ends = rowEnds(labels, required, o);
    if (!ends || Number.isNaN(value)) continue;
    const ids = rowNodeIds(ends, o.graphType, ends.inject);
    if (!ids) continue;
    const key = `${ids.sourceId} ${ids.destId} ${protocol}`;
    if (!times.has(key)) times.set(key, value);
  }
  forEachEdge(map, (e) => {
    const v = times.get(`${e.source.id} ${e.dest.id} ${e.protocol}`);
    if (v !== undefined) e.responseTime = v;
  });
}

/** Edge isMTLS and principals from the security-policy rows. */
export function applySecurityPolicy(map: TrafficMap, rows: readonly Row[], o: RowOptions): void {
  const policies = new Map<string, Map<string, number>>();
  const principals = new Map<string, { source: string; dest: string }>();
  const required = [...SOURCE_LABELS, ...DEST_LABELS, 'source_principal', 'destination_principal'];
  const add = (key: string, csp: string, v: number, sp: string, dp: string): void => {
    let p = policies.get(key);
    if (!p) policies.set(key, (p = new Map()));
    p.set(csp, v);
    principals.set(key, { source: sp, dest: dp });
  };
  for (const { labels, value } of rows) {
    const ends = rowEnds(labels, required, o);
    if (!ends) continue;
    const csp = labels.connection_security_policy ?? UNKNOWN;
    const direct = rowNodeIds({ ...ends, inject: false }, o.graphType, false);
    if (!direct) continue;
    if (ends.inject) {
      const toSvc = rowNodeIds(ends, o.graphType, true);
      if (!toSvc) continue;
      add(`${direct.sourceId} ${toSvc.sourceId}`, csp, value, labels.source_principal, labels.destination_principal);
      add(`${toSvc.sourceId} ${toSvc.destId}`, csp, value, labels.source_principal, labels.destination_principal);
    } else add(`${direct.sourceId} ${direct.destId}`, csp, value, labels.source_principal, labels.destination_principal);
  }
  forEachEdge(map, (e) => {
    const key = `${e.source.id} ${e.dest.id}`;
    const rates = policies.get(key);
    if (rates) {
      let mtls = 0;
      let other = 0;
      for (const [policy, v] of rates) {
        if (policy === 'mutual_tls') mtls = v;
        else other += v;
      }
      if (mtls > 0) e.isMTLS = (mtls / (mtls + other)) * 100;
    }
    const p = principals.get(key);
    if (p) {
      e.sourcePrincipal = p.source;
      e.destPrincipal = p.dest;
    }
  });
}

/** Edge throughput (bytes/s) on HTTP edges. */
export function applyThroughput(map: TrafficMap, rows: readonly Row[], o: RowOptions): void {
  const sums = new Map<string, number>();
  const required = [...SOURCE_LABELS, ...DEST_LABELS, 'destination_service'];
  for (const { labels, value } of rows) {
    const ends = rowEnds(labels, required, o);
    if (!ends || Number.isNaN(value)) continue;
    const ids = rowNodeIds(ends, o.graphType, ends.inject);
    if (!ids) continue;
    const key = `${ids.sourceId} ${ids.destId} http`;
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  forEachEdge(map, (e) => {
    const v = sums.get(`${e.source.id} ${e.dest.id} ${e.protocol}`);
    if (v !== undefined) e.throughput = v;
  });
}

/** Merges one namespace's map into the whole (`MergeTrafficMaps`). */
export function mergeTrafficMaps(into: TrafficMap, ns: string, nsMap: TrafficMap): void {
  for (const [id, nsNode] of nsMap) {
    const existing = into.get(id);
    if (!existing) {
      into.set(id, nsNode);
      continue;
    }
    let node = existing;
    let other = nsNode;
    if (nsNode.namespace === ns) {
      into.set(id, nsNode);
      node = nsNode;
      other = existing;
    }
    for (const e of other.edges) {
      if (node.edges.some((x) => x.dest.id === e.dest.id && x.protocol === e.protocol)) continue;
      node.edges.push(e);
      addOutgoing(node, e);
    }
  }
  // Edges still point at nodes of the namespace maps: re-point them at the merged nodes.
  for (const n of into.values())
    for (const e of n.edges) {
      e.source = n;
      const d = into.get(e.dest.id);
      if (d && d !== e.dest) (e as { dest: typeof d }).dest = d;
    }
}

/** isOutside / isInaccessible (the outsider finalizer). `accessible` undefined: every namespace. */
export function markOutsiders(map: TrafficMap, namespaces: readonly string[], accessible?: ReadonlySet<string>): void {
  const outside = (ns: string): boolean => ns !== UNKNOWN && !namespaces.includes(ns);
  for (const n of map.values()) {
    if (n.nodeType === 'unknown') n.isInaccessible = true;
    else if (n.nodeType === 'service' && (n.namespace === UNKNOWN || n.isEgressCluster)) n.isInaccessible = true;
    else if (outside(n.namespace)) n.isOutside = true;
    if (n.isOutside && !n.isInaccessible && accessible && !accessible.has(n.namespace)) n.isInaccessible = true;
  }
}

/** isRoot: nodes with outgoing edges that no edge reaches (the traffic-generator finalizer). */
export function markRoots(map: TrafficMap): void {
  const dests = new Set<string>();
  for (const n of map.values()) for (const e of n.edges) dests.add(e.dest.id);
  for (const n of map.values()) if (n.edges.length > 0 && !dests.has(n.id)) n.isRoot = true;
}

/** The service graph from a service-injected workload graph (`ReduceToServiceGraph`). */
export function reduceToServiceGraph(map: TrafficMap): TrafficMap {
  const out: TrafficMap = new Map();
  for (const [id, n] of map) {
    if (n.nodeType !== 'service') {
      if (!n.isRoot) continue;
      const serviceEdges = n.edges.filter((e) => e.dest.nodeType === 'service');
      if (serviceEdges.length === 0) continue;
      resetOutgoing(n);
      for (const e of serviceEdges) addOutgoing(n, e);
      n.edges = serviceEdges;
      out.set(id, n);
      continue;
    }
    out.set(id, n);
    resetOutgoing(n);
    const toWorkloads = n.edges;
    n.edges = [];
    for (const toWorkload of toWorkloads) {
      for (const toService of toWorkload.dest.edges) {
        if (toService.dest.nodeType !== 'service') continue;
        const existing = n.edges.find((e) => e.dest.id === toService.dest.id && e.protocol === toService.protocol);
        if (!existing) {
          toService.source = n;
          n.edges.push(toService);
          addOutgoing(n, toService);
        } else {
          addOutgoing(existing.source, toService);
          aggregateEdge(toService, existing);
        }
      }
    }
  }
  return out;
}

export type { GraphType };
