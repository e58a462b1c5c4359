/**
 * The traffic map as Kiali's graph JSON (graph/config/cytoscape): `{timestamp, duration,
 * graphType, elements: {nodes: [{data}], edges: [{data}]}}`. Node and edge ids are Kiali's:
 * the SHA-256 (hex) of the node id (`wl_<cluster>_<ns>_<workload>`, `svc_…`, `app_…`, `vapp_…`,
 * `<cluster>_unknown_source`) and of `<source>.<target>.<protocol>`. Rates are strings with
 * Kiali's precision; response shares are percentages with one decimal. Compound "box" nodes:
 * by app (boxBy=app, or always for app graphs) and by namespace (when more than one), each
 * only around two or more members, as Kiali does.
 */
import { createHash } from 'node:crypto';
import { PROTOCOLS } from './graph-protocols.js';
import type { GraphEdge, GraphNode, GraphType, ServiceName, TrafficMap } from './graph-types.js';

export interface ProtocolTraffic {
  protocol?: string;
  rates?: Record<string, string>;
  responses?: Record<string, { flags?: Record<string, string>; hosts?: Record<string, string> }>;
}

export interface KialiNodeData {
  id: string;
  parent?: string;
  nodeType: string;
  cluster: string;
  namespace: string;
  workload?: string;
  app?: string;
  version?: string;
  service?: string;
  destServices?: ServiceName[];
  traffic?: ProtocolTraffic[];
  healthData: null;
  isBox?: string;
  isInaccessible?: boolean;
  isOutside?: boolean;
  isRoot?: boolean;
}

export interface KialiEdgeData {
  id: string;
  source: string;
  target: string;
  destPrincipal?: string;
  isMTLS?: string;
  responseTime?: string;
  sourcePrincipal?: string;
  throughput?: string;
  traffic: ProtocolTraffic;
}

export interface KialiGraph {
  timestamp: number;
  duration: number;
  graphType: GraphType;
  elements: { nodes: { data: KialiNodeData }[]; edges: { data: KialiEdgeData }[] };
}

export const hashId = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Kiali's `rateToString`: at least `minPrecision` decimals, more (up to 5) to show a significant digit. */
export function rateToString(minPrecision: number, v: number): string {
  let precision = 0;
  if (v > 0) for (let x = v; precision < 5 && x < 1; x *= 10) precision++;
  return v.toFixed(Math.max(minPrecision, precision));
}

function nodeTraffic(n: GraphNode): ProtocolTraffic[] | undefined {
  const out: ProtocolTraffic[] = [];
  for (const p of PROTOCOLS) {
    const rates: Record<string, string> = {};
    for (const r of p.nodeRates) {
      const v = n.rates.get(r.name) ?? 0;
      if (v > 0) rates[r.name] = rateToString(r.precision, v);
    }
    if (Object.keys(rates).length) out.push({ protocol: p.name, rates });
  }
  return out.length ? out : undefined;
}

function edgeTraffic(e: GraphEdge): ProtocolTraffic {
  const p = PROTOCOLS.find((x) => x.name === e.protocol);
  const traffic: ProtocolTraffic = { protocol: e.protocol || undefined };
  if (!p) return traffic;
  const rates: Record<string, string> = {};
  let total = 0;
  let err = 0;
  for (const r of p.edgeRates) {
    const v = e.rates.get(r.name) ?? 0;
    if (r.isTotal) total = v;
    else if (r.isErr) err += v;
    if (v > 0) rates[r.name] = rateToString(r.precision, v);
  }
  if (Object.keys(rates).length === 0 || !(total > 0)) return traffic;
  const percentErr = p.edgeRates.find((r) => r.isPercentErr);
  if (percentErr && err > 0) rates[percentErr.name] = ((err / total) * 100).toFixed(percentErr.precision);
  const percentReq = p.edgeRates.find((r) => r.isPercentReq);
  const out = e.source.rates.get(`${p.name}Out`);
  if (percentReq && out) {
    const v = (total / out) * 100;
    if (v > 0) rates[percentReq.name] = v.toFixed(percentReq.precision);
  }
  const responses: NonNullable<ProtocolTraffic['responses']> = {};
  for (const [code, d] of e.responses) {
    const flags: Record<string, string> = {};
    const hosts: Record<string, string> = {};
    for (const [f, v] of d.flags) flags[f] = ((v / total) * 100).toFixed(1);
    for (const [h, v] of d.hosts) hosts[h] = ((v / total) * 100).toFixed(1);
    responses[code] = { ...(Object.keys(flags).length ? { flags } : {}), ...(Object.keys(hosts).length ? { hosts } : {}) };
  }
  return { protocol: p.name, rates, ...(Object.keys(responses).length ? { responses } : {}) };
}

function nodeData(n: GraphNode): KialiNodeData {
  const d: KialiNodeData = { id: hashId(n.id), nodeType: n.nodeType, cluster: n.cluster, namespace: n.namespace, healthData: null };
  if (n.workload) d.workload = n.workload;
  if (n.app) d.app = n.app;
  if (n.version) d.version = n.version;
  if (n.service) d.service = n.service;
  if (n.destServices.size)
    d.destServices = [...n.destServices.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const traffic = nodeTraffic(n);
  if (traffic) d.traffic = traffic;
  if (n.isInaccessible) d.isInaccessible = true;
  if (n.isOutside) d.isOutside = true;
  if (n.isRoot) d.isRoot = true;
  return d;
}

function edgeData(e: GraphEdge): KialiEdgeData {
  const source = hashId(e.source.id);
  const target = hashId(e.dest.id);
  const d: KialiEdgeData = { id: hashId(`${source}.${target}.${e.protocol}`), source, target, traffic: edgeTraffic(e) };
  if (e.destPrincipal !== undefined) d.destPrincipal = e.destPrincipal || undefined;
  if (e.isMTLS !== undefined) d.isMTLS = e.isMTLS.toFixed(0);
  if (e.responseTime !== undefined) d.responseTime = e.responseTime.toFixed(0);
  if (e.sourcePrincipal !== undefined) d.sourcePrincipal = e.sourcePrincipal || undefined;
  if (e.throughput !== undefined) d.throughput = e.throughput.toFixed(0);
  return d;
}

function addBoxes(nodes: KialiNodeData[], boxBy: 'app' | 'namespace'): void {
  const boxes = new Map<string, KialiNodeData[]>();
  for (const n of nodes) {
    if (boxBy === 'app' ? n.app && n.app !== 'unknown' : !n.parent && n.namespace !== 'unknown') {
      const key = boxBy === 'app' ? `box_${n.cluster}_${n.namespace}_${n.app}` : `box_${n.cluster}_${n.namespace}`;
      boxes.set(key, [...(boxes.get(key) ?? []), n]);
    }
  }
  if (boxBy === 'namespace' && boxes.size <= 1) return;
  for (const [key, members] of boxes) {
    if (members.length < 2) continue;
    const id = hashId(key);
    const box: KialiNodeData = { id, nodeType: 'box', cluster: members[0].cluster, namespace: members[0].namespace, healthData: null, isBox: boxBy };
    if (boxBy === 'app') box.app = members[0].app;
    for (const m of members) {
      m.parent = id;
      if (boxBy === 'app') {
        if (m.isInaccessible) box.isInaccessible = true;
        if (m.isOutside) box.isOutside = true;
      }
    }
    nodes.push(box);
  }
}

const BOX_RANK: Record<string, number> = { cluster: 0, namespace: 1, app: 2 };

export function toKialiGraph(map: TrafficMap, o: { graphType: GraphType; boxBy: readonly string[]; durationSec: number; queryTime: number }): KialiGraph {
  const nodes: KialiNodeData[] = [];
  const edges: KialiEdgeData[] = [];
  for (const n of map.values()) {
    nodes.push(nodeData(n));
    for (const e of n.edges) edges.push(edgeData(e));
  }
  if (o.boxBy.includes('app') || o.graphType === 'app' || o.graphType === 'versionedApp') addBoxes(nodes, 'app');
  if (o.boxBy.includes('namespace')) addBoxes(nodes, 'namespace');
  const rank = (n: KialiNodeData): number => (n.isBox ? BOX_RANK[n.isBox] : 3);
  const cmp = (a = '', b = ''): number => (a < b ? -1 : a > b ? 1 : 0);
  nodes.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      cmp(a.cluster, b.cluster) ||
      cmp(a.namespace, b.namespace) ||
      cmp(a.app, b.app) ||
      cmp(a.version, b.version) ||
      cmp(a.service, b.service) ||
      cmp(a.workload, b.workload),
  );
  edges.sort((a, b) => cmp(a.source, b.source) || cmp(a.target, b.target) || cmp(a.traffic.protocol, b.traffic.protocol));
  return { timestamp: Math.floor(o.queryTime), duration: o.durationSec, graphType: o.graphType, elements: { nodes: nodes.map((data) => ({ data })), edges: edges.map((data) => ({ data })) } };
}
