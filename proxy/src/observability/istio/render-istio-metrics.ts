/**
 * Istio's metrics in Prometheus's text format (what 15090 and 15020 serve): one `# TYPE` per
 * family, label sets after the Telemetry overrides of each edge (tags removed, tags added,
 * metrics dropped); series that a removed tag makes identical are summed, as Istio's proxy
 * would have counted them together. Runs at scrape time, never per request.
 */
import { dimensionKey, type IstioStatsRt } from '@minimesh/config';
import type { IstioMetricName } from '@minimesh/mesh';
import { Histogram } from './histogram.js';
import { renderLabels, type LabelPairs } from './edge-labels.js';
import type { IstioMetrics, RequestOutcome } from './istio-metrics.js';

type Pairs = (readonly [string, string])[];

/** The label set of a series after its metric's overrides; undefined when the metric is dropped. */
function overridden(stats: IstioStatsRt, metric: IstioMetricName, pairs: Pairs, dimTags: readonly string[], dims: readonly string[]): string | undefined {
  const o = stats.metrics.get(metric);
  if (o === undefined) return renderLabels(pairs);
  if (o.drop) return undefined;
  let out: Pairs = o.tagsToRemove.size > 0 ? pairs.filter(([k]) => !o.tagsToRemove.has(k)) : pairs;
  for (const d of o.dimensions) {
    const i = dimTags.indexOf(dimensionKey(d));
    const v = i === -1 ? 'unknown' : dims[i];
    const at = out.findIndex(([k]) => k === d.tag);
    if (at === -1) out = [...out, [d.tag, v]];
    else out = out.map((p, j) => (j === at ? [d.tag, v] : p));
  }
  return renderLabels(out);
}

function outcomePairs(labels: LabelPairs, o: RequestOutcome, policy: string): Pairs {
  return [...labels, ['response_code', String(o.code)], ['grpc_response_status', o.grpcStatus], ['response_flags', o.flags], ['connection_security_policy', policy]];
}

class Family<T> {
  readonly series = new Map<string, T>();
  constructor(
    readonly name: string,
    readonly type: 'counter' | 'histogram' | 'gauge',
  ) {}
}

export function renderIstioMetrics(m: IstioMetrics): string {
  const requests = new Family<{ v: number }>('istio_requests_total', 'counter');
  const duration = new Family<Histogram>('istio_request_duration_milliseconds', 'histogram');
  const reqBytes = new Family<Histogram>('istio_request_bytes', 'histogram');
  const respBytes = new Family<Histogram>('istio_response_bytes', 'histogram');
  const reqMessages = new Family<{ v: number }>('istio_request_messages_total', 'counter');
  const respMessages = new Family<{ v: number }>('istio_response_messages_total', 'counter');
  const addCounter = (f: Family<{ v: number }>, labels: string | undefined, v: number): void => {
    if (labels === undefined) return;
    const s = f.series.get(labels);
    if (s === undefined) f.series.set(labels, { v });
    else s.v += v;
  };
  const addHistogram = (f: Family<Histogram>, labels: string | undefined, h: Histogram): void => {
    if (labels === undefined) return;
    let s = f.series.get(labels);
    if (s === undefined) f.series.set(labels, (s = new Histogram(h.bounds)));
    s.add(h);
  };
  for (const e of m.httpEdges.values()) {
    for (const o of e.outcomes.values()) {
      const pairs = outcomePairs(e.labels, o, e.securityPolicy);
      addCounter(requests, overridden(e.stats, 'requests_total', pairs, o.dimTags, o.dims), o.count);
      addHistogram(duration, overridden(e.stats, 'request_duration_milliseconds', pairs, o.dimTags, o.dims), o.duration);
      addHistogram(reqBytes, overridden(e.stats, 'request_bytes', pairs, o.dimTags, o.dims), o.requestBytes);
      addHistogram(respBytes, overridden(e.stats, 'response_bytes', pairs, o.dimTags, o.dims), o.responseBytes);
      if (e.grpc) {
        addCounter(reqMessages, overridden(e.stats, 'request_messages_total', pairs, o.dimTags, o.dims), o.requestMessages);
        addCounter(respMessages, overridden(e.stats, 'response_messages_total', pairs, o.dimTags, o.dims), o.responseMessages);
      }
    }
  }
  const tcpSent = new Family<{ v: number }>('istio_tcp_sent_bytes_total', 'counter');
  const tcpReceived = new Family<{ v: number }>('istio_tcp_received_bytes_total', 'counter');
  const tcpOpened = new Family<{ v: number }>('istio_tcp_connections_opened_total', 'counter');
  const tcpClosed = new Family<{ v: number }>('istio_tcp_connections_closed_total', 'counter');
  for (const e of m.tcpEdges.values()) {
    // Open connections report what they moved so far (Istio reports every tcp_reporting_duration).
    for (const c of e.live) {
      const b = c.bytes();
      e.sentBytes += b.sent - c.reportedSent;
      e.receivedBytes += b.received - c.reportedReceived;
      c.reportedSent = b.sent;
      c.reportedReceived = b.received;
    }
    const pairs: Pairs = [...e.labels, ['response_flags', e.flags], ['connection_security_policy', e.securityPolicy]];
    addCounter(tcpSent, overridden(e.stats, 'tcp_sent_bytes_total', pairs, [], []), e.sentBytes);
    addCounter(tcpReceived, overridden(e.stats, 'tcp_received_bytes_total', pairs, [], []), e.receivedBytes);
    addCounter(tcpOpened, overridden(e.stats, 'tcp_connections_opened_total', pairs, [], []), e.opened);
    addCounter(tcpClosed, overridden(e.stats, 'tcp_connections_closed_total', pairs, [], []), e.closed);
  }
  const out: string[] = [];
  for (const f of [requests, reqMessages, respMessages, tcpClosed, tcpOpened, tcpReceived, tcpSent]) {
    if (f.series.size === 0) continue;
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const [labels, s] of f.series) out.push(`${f.name}{${labels}} ${s.v}`);
  }
  for (const f of [duration, reqBytes, respBytes]) {
    if (f.series.size === 0) continue;
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const [labels, h] of f.series) h.render(f.name, labels, out);
  }
  out.push('# TYPE istio_build gauge', `istio_build{component="proxy",tag="${m.buildTag}"} 1`);
  return out.join('\n') + '\n';
}
