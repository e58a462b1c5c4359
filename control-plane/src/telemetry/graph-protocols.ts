/**
 * Kiali's protocols (graph/protocol.go): which rates each protocol keeps on nodes and edges,
 * how one row's value is added to the source node, the destination node and the edge, and how
 * response codes are bucketed (HTTP: 3xx, 4xx and 5xx, "-" for no response; gRPC: any status
 * other than 0 is an error, an HTTP 4xx/5xx too).
 */
import type { GraphEdge, GraphNode } from './graph-types.js';

export interface RateDef {
  readonly name: string;
  readonly isTotal?: boolean;
  readonly isErr?: boolean;
  readonly isPercentErr?: boolean;
  readonly isPercentReq?: boolean;
  readonly isIn?: boolean;
  readonly isOut?: boolean;
  readonly precision: number;
}

export interface ProtocolDef {
  readonly name: 'grpc' | 'http' | 'tcp';
  readonly edgeRates: readonly RateDef[];
  readonly nodeRates: readonly RateDef[];
}

export const PROTOCOLS: readonly ProtocolDef[] = [
  {
    name: 'grpc',
    edgeRates: [
      { name: 'grpc', isTotal: true, precision: 2 },
      { name: 'grpcNoResponse', isErr: true, precision: 2 },
      { name: 'grpcErr', isErr: true, precision: 2 },
      { name: 'grpcPercentErr', isPercentErr: true, precision: 1 },
      { name: 'grpcPercentReq', isPercentReq: true, precision: 1 },
    ],
    nodeRates: [
      { name: 'grpcIn', isIn: true, precision: 2 },
      { name: 'grpcInNoResponse', isErr: true, precision: 2 },
      { name: 'grpcInErr', isErr: true, precision: 2 },
      { name: 'grpcOut', isOut: true, precision: 2 },
    ],
  },
  {
    name: 'http',
    edgeRates: [
      { name: 'http', isTotal: true, precision: 2 },
      { name: 'httpNoResponse', isErr: true, precision: 2 },
      { name: 'http3xx', precision: 2 },
      { name: 'http4xx', isErr: true, precision: 2 },
      { name: 'http5xx', isErr: true, precision: 2 },
      { name: 'httpPercentErr', isPercentErr: true, precision: 1 },
      { name: 'httpPercentReq', isPercentReq: true, precision: 1 },
    ],
    nodeRates: [
      { name: 'httpIn', isIn: true, precision: 2 },
      { name: 'httpInNoResponse', isErr: true, precision: 2 },
      { name: 'httpIn3xx', precision: 2 },
      { name: 'httpIn4xx', isErr: true, precision: 2 },
      { name: 'httpIn5xx', isErr: true, precision: 2 },
      { name: 'httpOut', isOut: true, precision: 2 },
    ],
  },
  {
    name: 'tcp',
    edgeRates: [{ name: 'tcp', isTotal: true, precision: 2 }],
    nodeRates: [
      { name: 'tcpIn', isIn: true, precision: 2 },
      { name: 'tcpOut', isOut: true, precision: 2 },
    ],
  },
];

export const isHttpErr = (code: string): boolean => code.startsWith('4') || code.startsWith('5');
export const isGrpcErr = (code: string): boolean => code !== '0' && code !== '';

export function addRate(rates: Map<string, number>, k: string, v: number): void {
  if (!(v > 0)) return;
  rates.set(k, (rates.get(k) ?? 0) + v);
}

export function addResponse(edge: GraphEdge, code: string, flags: string, host: string, v: number): void {
  const c = code === '' ? '-' : code;
  let d = edge.responses.get(c);
  if (!d) edge.responses.set(c, (d = { flags: new Map(), hosts: new Map() }));
  if (flags !== '') d.flags.set(flags, (d.flags.get(flags) ?? 0) + v);
  if (host !== '') d.hosts.set(host, (d.hosts.get(host) ?? 0) + v);
}

/** One row's value onto source, destination and edge (`graph.AddToMetadata`). */
export function addToMetadata(protocol: string, v: number, code: string, flags: string, host: string, source: GraphNode, dest: GraphNode, edge: GraphEdge): void {
  if (!(v > 0)) return;
  const p = protocol as 'grpc' | 'http' | 'tcp';
  if (p !== 'grpc' && p !== 'http' && p !== 'tcp') return;
  addRate(source.rates, `${p}Out`, v);
  addRate(dest.rates, `${p}In`, v);
  addRate(edge.rates, p, v);
  if (p === 'tcp') {
    addResponse(edge, '-', flags, host, v);
    return;
  }
  addResponse(edge, code, flags, host, v);
  if (p === 'grpc') {
    if (code === '-') {
      addRate(dest.rates, 'grpcInNoResponse', v);
      addRate(edge.rates, 'grpcNoResponse', v);
    } else if (code.length === 3 ? isHttpErr(code) : isGrpcErr(code)) {
      addRate(dest.rates, 'grpcInErr', v);
      addRate(edge.rates, 'grpcErr', v);
    }
    return;
  }
  const bucket = code === '-' ? 'NoResponse' : code.startsWith('3') ? '3xx' : code.startsWith('4') ? '4xx' : code.startsWith('5') ? '5xx' : undefined;
  if (bucket) {
    addRate(dest.rates, `httpIn${bucket}`, v);
    addRate(edge.rates, `http${bucket}`, v);
  }
}

/** Adds an edge's traffic to its source's outgoing rate (`AddOutgoingEdgeToMetadata`). */
export function addOutgoing(source: GraphNode, edge: GraphEdge): void {
  for (const p of ['grpc', 'http', 'tcp']) {
    const v = edge.rates.get(p);
    if (v !== undefined) addRate(source.rates, `${p}Out`, v);
  }
}

export function resetOutgoing(node: GraphNode): void {
  for (const p of ['grpc', 'http', 'tcp']) node.rates.delete(`${p}Out`);
}

/** Adds one edge's traffic into another (`AggregateEdgeTraffic`, for the service graph). */
export function aggregateEdge(from: GraphEdge, into: GraphEdge): void {
  const keys = from.protocol === 'grpc' ? ['grpc', 'grpcErr'] : from.protocol === 'http' ? ['http', 'http3xx', 'http4xx', 'http5xx'] : ['tcp'];
  for (const k of keys) {
    const v = from.rates.get(k);
    if (v !== undefined) addRate(into.rates, k, v);
  }
  for (const [code, d] of from.responses) {
    for (const [flags, v] of d.flags) addResponse(into, code, flags, '', v);
    for (const [host, v] of d.hosts) addResponse(into, code, '', host, v);
  }
}
