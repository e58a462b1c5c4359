/**
 * The queries Kiali's graph sends for one namespace (graph/telemetry/istio/istio.go and its
 * appenders), each as the exact PromQL text Kiali sends (wrapped in `round(...,0.001)` like
 * Kiali's PromQuery) and as the structured form the control plane's own store evaluates.
 * Ambient traffic is "none" (the UI's value without ambient): `reporter="source"` or
 * `"destination"`, and TCP queries exclude `app="ztunnel"`.
 */
import { eq, ne, re, renderMatchers, type Matcher, type QuantileQuery, type RateQuery, type UnionQuery } from './traffic-query.js';

export type TcpRate = 'sent' | 'received' | 'total' | 'none';

const SRC_DST = [
  'source_cluster',
  'source_workload_namespace',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'destination_cluster',
  'destination_service_namespace',
  'destination_service',
  'destination_service_name',
  'destination_workload_namespace',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
] as const;

export const HTTP_GROUP_BY: readonly string[] = [...SRC_DST, 'request_protocol', 'response_code', 'grpc_response_status', 'response_flags'];
export const TCP_GROUP_BY: readonly string[] = ['app', ...SRC_DST, 'response_flags'];
export const RESPONSE_TIME_GROUP_BY: readonly string[] = [...SRC_DST, 'request_protocol'];
export const THROUGHPUT_GROUP_BY: readonly string[] = [...SRC_DST];
export const SECURITY_GROUP_BY: readonly string[] = [
  'source_cluster',
  'source_workload_namespace',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_principal',
  'destination_cluster',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload_namespace',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_principal',
  'connection_security_policy',
];

const ROUND = 0.001;
const NOT_ZTUNNEL = ne('app', 'ztunnel');

/** `sum(rate(M{…}[Ns])) by (…) > 0`; Kiali's traffic queries put a space before the range. */
function inner(metric: string, ms: readonly Matcher[], windowSec: number, by: readonly string[], spaceBeforeRange: boolean): string {
  return `sum(rate(${metric}${renderMatchers(ms)}${spaceBeforeRange ? ' ' : ''}[${windowSec}s])) by (${by.join(',')}) > 0`;
}

function kialiRate(metric: string, ms: Matcher[], windowSec: number, by: readonly string[], time: number, spaceBeforeRange: boolean): RateQuery {
  return { kind: 'rate', metric, matchers: ms, windowSec, by, time, positiveOnly: true, round: ROUND, promql: `round(${inner(metric, ms, windowSec, by, spaceBeforeRange)},${ROUND})` };
}

export interface NamespaceQueryOptions {
  readonly namespace: string;
  readonly windowSec: number;
  /** Unix seconds. */
  readonly time: number;
  readonly tcp?: TcpRate;
}

/** The TCP metric(s) Kiali reads for a `rateTcp` ("L4 telemetry is backwards", istio#32399). */
export function tcpMetrics(tcp: TcpRate): string[] {
  switch (tcp) {
    case 'sent':
      return ['istio_tcp_received_bytes_total'];
    case 'received':
      return ['istio_tcp_sent_bytes_total'];
    case 'total':
      return ['istio_tcp_received_bytes_total', 'istio_tcp_sent_bytes_total'];
    case 'none':
      return [];
  }
}

/** Queries #0, #2 and #3 on istio_requests_total, then the TCP ones, in Kiali's order. */
export function trafficQueries(o: NamespaceQueryOptions): RateQuery[] {
  const ns = o.namespace;
  const unserviced = (tcp: boolean): Matcher[] => [
    ...(tcp ? [NOT_ZTUNNEL] : []),
    eq('reporter', 'source'),
    ne('source_workload_namespace', ns),
    eq('destination_workload_namespace', 'unknown'),
    eq('destination_workload', 'unknown'),
    re('destination_service', `^.+\\.${ns}\\..+$`),
  ];
  const incoming = (tcp: boolean): Matcher[] => [...(tcp ? [NOT_ZTUNNEL] : []), eq('reporter', 'destination'), eq('destination_workload_namespace', ns)];
  const outgoing = (tcp: boolean): Matcher[] => [...(tcp ? [NOT_ZTUNNEL] : []), eq('reporter', 'source'), eq('source_workload_namespace', ns)];
  const out: RateQuery[] = [];
  const m = 'istio_requests_total';
  for (const ms of [unserviced(false), incoming(false), outgoing(false)]) out.push(kialiRate(m, ms, o.windowSec, HTTP_GROUP_BY, o.time, true));
  for (const metric of tcpMetrics(o.tcp ?? 'sent'))
    for (const ms of [unserviced(true), incoming(true), outgoing(true)]) out.push(kialiRate(metric, ms, o.windowSec, TCP_GROUP_BY, o.time, true));
  return out;
}

/** The response-time appender: incoming (destination-reported) first, then outgoing. */
export function responseTimeQueries(o: NamespaceQueryOptions, quantile: number): QuantileQuery[] {
  const metric = 'istio_request_duration_milliseconds_bucket';
  const make = (ms: Matcher[]): QuantileQuery => ({
    kind: 'quantile',
    q: quantile,
    metric,
    matchers: ms,
    windowSec: o.windowSec,
    by: RESPONSE_TIME_GROUP_BY,
    time: o.time,
    positiveOnly: true,
    round: ROUND,
    promql: `round(histogram_quantile(${quantile.toFixed(2)}, sum(rate(${metric}${renderMatchers(ms)}[${o.windowSec}s])) by (${['le', ...RESPONSE_TIME_GROUP_BY].join(',')})) > 0,${ROUND})`,
  });
  return [make([eq('reporter', 'destination'), eq('destination_service_namespace', o.namespace)]), make([eq('reporter', 'source'), eq('source_workload_namespace', o.namespace)])];
}

/** The security-policy appender: destination-reported rows with connection_security_policy. */
export function securityPolicyQueries(o: NamespaceQueryOptions): UnionQuery[] {
  const tcp = o.tcp ?? 'sent';
  // This appender does not swap the TCP metric (unlike the traffic queries).
  const tcpMetricsHere = tcp === 'sent' ? ['istio_tcp_sent_bytes_total'] : tcp === 'received' ? ['istio_tcp_received_bytes_total'] : tcp === 'total' ? ['istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total'] : [];
  const build = (scope: Matcher[]): UnionQuery => {
    const parts: RateQuery[] = [];
    const texts: string[] = [];
    const add = (metric: string, ms: Matcher[]): void => {
      const text = inner(metric, ms, o.windowSec, SECURITY_GROUP_BY, false);
      parts.push({ kind: 'rate', metric, matchers: ms, windowSec: o.windowSec, by: SECURITY_GROUP_BY, time: o.time, positiveOnly: true, promql: text });
      texts.push(`(${text})`);
    };
    add('istio_requests_total', [eq('reporter', 'destination'), ...scope]);
    for (const metric of tcpMetricsHere) add(metric, [NOT_ZTUNNEL, eq('reporter', 'destination'), ...scope]);
    return { kind: 'or', parts, time: o.time, round: ROUND, promql: `round(${texts.join(' OR ')},${ROUND})` };
  };
  return [build([ne('source_workload_namespace', o.namespace), eq('destination_service_namespace', o.namespace)]), build([eq('source_workload_namespace', o.namespace)])];
}

/** The throughput appender (throughputType=response: destination-reported response bytes). */
export function throughputQueries(o: NamespaceQueryOptions): RateQuery[] {
  const metric = 'istio_response_bytes_sum';
  return [
    kialiRate(metric, [eq('reporter', 'destination'), ne('source_workload_namespace', o.namespace), eq('destination_service_namespace', o.namespace)], o.windowSec, THROUGHPUT_GROUP_BY, o.time, false),
    kialiRate(metric, [eq('reporter', 'destination'), eq('source_workload_namespace', o.namespace)], o.windowSec, THROUGHPUT_GROUP_BY, o.time, false),
  ];
}
