/**
 * Istio's metrics in Prometheus's text format (what 15090 and 15020 serve): one `# TYPE` per
 * family, label sets after the Telemetry overrides of each edge (tags removed, tags added,
 * metrics dropped); series that a removed tag makes identical are summed, as Istio's proxy
 * would have counted them together. Runs at scrape time, never per request.
 */
import { dimensionKey, type IstioStatsRt } from '@minimesh/config';
import type { IstioMetricName } from '@minimesh/mesh';
import type { Histogram } from './histogram.js';
import { renderLabels, type LabelPairs } from './edge-labels.js';
import type { IstioMetrics, RequestOutcome } from './istio-metrics.js';
import { addHistogram, formatIstioSeries, type HistogramData, type IstioSeries } from './istio-series.js';

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

/** Istio's series of this process, after each edge's overrides (see istio-series.ts). */
export function collectIstioSeries(m: IstioMetrics): IstioSeries {
  const counters: Record<string, Record<string, number>> = {};
  const histograms: Record<string, Record<string, HistogramData>> = {};
  const addCounter = (name: string, labels: string | undefined, v: number): void => {
    if (labels === undefined) return;
    const f = (counters[name] ??= {});
    f[labels] = (f[labels] ?? 0) + v;
  };
  const addHisto = (name: string, labels: string | undefined, h: Histogram): void => {
    if (labels === undefined) return;
    addHistogram((histograms[name] ??= {}), labels, h);
  };
  for (const e of m.httpEdges.values()) {
    for (const o of e.outcomes.values()) {
      const pairs = outcomePairs(e.labels, o, e.securityPolicy);
      addCounter('istio_requests_total', overridden(e.stats, 'requests_total', pairs, o.dimTags, o.dims), o.count);
      addHisto('istio_request_duration_milliseconds', overridden(e.stats, 'request_duration_milliseconds', pairs, o.dimTags, o.dims), o.duration);
      addHisto('istio_request_bytes', overridden(e.stats, 'request_bytes', pairs, o.dimTags, o.dims), o.requestBytes);
      addHisto('istio_response_bytes', overridden(e.stats, 'response_bytes', pairs, o.dimTags, o.dims), o.responseBytes);
      if (e.grpc) {
        addCounter('istio_request_messages_total', overridden(e.stats, 'request_messages_total', pairs, o.dimTags, o.dims), o.requestMessages);
        addCounter('istio_response_messages_total', overridden(e.stats, 'response_messages_total', pairs, o.dimTags, o.dims), o.responseMessages);
      }
    }
  }
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
    addCounter('istio_tcp_sent_bytes_total', overridden(e.stats, 'tcp_sent_bytes_total', pairs, [], []), e.sentBytes);
    addCounter('istio_tcp_received_bytes_total', overridden(e.stats, 'tcp_received_bytes_total', pairs, [], []), e.receivedBytes);
    addCounter('istio_tcp_connections_opened_total', overridden(e.stats, 'tcp_connections_opened_total', pairs, [], []), e.opened);
    addCounter('istio_tcp_connections_closed_total', overridden(e.stats, 'tcp_connections_closed_total', pairs, [], []), e.closed);
  }
  return { enabled: m.enabled, counters, histograms };
}

export function renderIstioMetrics(m: IstioMetrics): string {
  return formatIstioSeries(collectIstioSeries(m), m.buildTag);
}
