/**
 * Kiali's namespace graph from a TrafficSource: per namespace, the traffic queries (#0, #2,
 * #3 and TCP) into a traffic map, then the response-time, security-policy and throughput
 * appenders; the namespace maps merged; outsiders and roots marked; the service graph reduced;
 * and the result as Kiali's JSON.
 */
import { applyResponseTime, applySecurityPolicy, applyThroughput, markOutsiders, markRoots, mergeTrafficMaps, reduceToServiceGraph } from './graph-appenders.js';
import { toKialiGraph, type KialiGraph } from './graph-json.js';
import type { GraphOptions } from './graph-options.js';
import type { TrafficMap } from './graph-types.js';
import { responseTimeQueries, securityPolicyQueries, throughputQueries, trafficQueries } from './kiali-queries.js';
import { populateTrafficMap } from './traffic-map.js';
import type { Row, TrafficSource } from './traffic-query.js';
import type { RowOptions } from './traffic-rows.js';

export interface BuildGraphContext {
  /** Namespaces that exist (a node outside the request and not among them is inaccessible). */
  readonly accessibleNamespaces?: ReadonlySet<string>;
}

async function namespaceMap(source: TrafficSource, ns: string, o: GraphOptions, rowOpts: RowOptions): Promise<TrafficMap> {
  const q = { namespace: ns, windowSec: o.durationSec, time: o.queryTime, tcp: o.tcp };
  const traffic = trafficQueries(q);
  const rt = responseTimeQueries(q, o.quantile);
  const sec = securityPolicyQueries(q);
  const tp = throughputQueries(q);
  const all = await Promise.all([...traffic, ...rt, ...sec, ...tp].map((x) => source.query(x)));
  let i = 0;
  const next = (n: number): Row[][] => all.slice(i, (i += n));
  const map: TrafficMap = new Map();
  const trafficRows = next(traffic.length);
  traffic.forEach((query, k) => populateTrafficMap(map, trafficRows[k], query.metric, rowOpts));
  applyResponseTime(map, next(rt.length).flat(), rowOpts);
  applySecurityPolicy(map, next(sec.length).flat(), rowOpts);
  applyThroughput(map, next(tp.length).flat(), rowOpts);
  return map;
}

export async function buildTrafficMap(source: TrafficSource, o: GraphOptions, ctx: BuildGraphContext = {}): Promise<TrafficMap> {
  const rowOpts: RowOptions = { graphType: o.graphType, injectServiceNodes: o.injectServiceNodes };
  const maps = await Promise.all(o.namespaces.map((ns) => namespaceMap(source, ns, o, rowOpts)));
  let map: TrafficMap = new Map();
  o.namespaces.forEach((ns, k) => mergeTrafficMaps(map, ns, maps[k]));
  markOutsiders(map, o.namespaces, ctx.accessibleNamespaces);
  markRoots(map);
  if (o.graphType === 'service') map = reduceToServiceGraph(map);
  return map;
}

export async function buildGraph(source: TrafficSource, o: GraphOptions, ctx: BuildGraphContext = {}): Promise<KialiGraph> {
  const map = await buildTrafficMap(source, o, ctx);
  return toKialiGraph(map, { graphType: o.graphType, boxBy: o.boxBy, durationSec: o.durationSec, queryTime: o.queryTime });
}
