/**
 * Istio's metrics as plain series (family -> rendered label set -> value or histogram), after
 * the Telemetry overrides: what a worker of `--concurrency N` sends the primary over IPC.
 * mergeIstioSeries sums several (the same label set in two workers is one series, counted
 * in both); formatIstioSeries prints Prometheus's text. Pure functions, no I/O.
 */

/** A histogram's data (counts per bucket, not cumulative; the last slot is +Inf). */
export interface HistogramData {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum: number;
  count: number;
}

export interface IstioSeries {
  /** Whether a config turned Istio's metrics on (otherwise nothing is printed, not even istio_build). */
  readonly enabled: boolean;
  /** Counter families by name: label set (rendered, without braces) -> value. */
  readonly counters: Record<string, Record<string, number>>;
  readonly histograms: Record<string, Record<string, HistogramData>>;
}

/** Printing order, as the families have always been printed. */
export const COUNTER_FAMILIES = [
  'istio_requests_total',
  'istio_request_messages_total',
  'istio_response_messages_total',
  'istio_tcp_connections_closed_total',
  'istio_tcp_connections_opened_total',
  'istio_tcp_received_bytes_total',
  'istio_tcp_sent_bytes_total',
] as const;
export const HISTOGRAM_FAMILIES = ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes'] as const;

/** Adds `h` into the series `labels` of `family` (a new series starts from zeros on h's bounds). */
export function addHistogram(family: Record<string, HistogramData>, labels: string, h: { readonly bounds: readonly number[]; readonly counts: ArrayLike<number>; readonly sum: number; readonly count: number }): void {
  let s = family[labels];
  if (s === undefined) family[labels] = s = { bounds: [...h.bounds], counts: new Array<number>(h.bounds.length + 1).fill(0), sum: 0, count: 0 };
  for (let i = 0; i < s.counts.length; i++) s.counts[i] += h.counts[i] ?? 0;
  s.sum += h.sum;
  s.count += h.count;
}

/** The sum of several processes' series. */
export function mergeIstioSeries(list: readonly IstioSeries[]): IstioSeries {
  const counters: Record<string, Record<string, number>> = {};
  const histograms: Record<string, Record<string, HistogramData>> = {};
  let enabled = false;
  for (const s of list) {
    enabled ||= s.enabled;
    for (const [name, series] of Object.entries(s.counters)) {
      const into = (counters[name] ??= {});
      for (const [labels, v] of Object.entries(series)) into[labels] = (into[labels] ?? 0) + v;
    }
    for (const [name, series] of Object.entries(s.histograms)) {
      const into = (histograms[name] ??= {});
      for (const [labels, h] of Object.entries(series)) addHistogram(into, labels, h);
    }
  }
  return { enabled, counters, histograms };
}

function renderHistogram(name: string, labels: string, h: HistogramData, out: string[]): void {
  const sep = labels === '' ? '' : ',';
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i];
    out.push(`${name}_bucket{${labels}${sep}le="${h.bounds[i]}"} ${cumulative}`);
  }
  out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${h.count}`);
  out.push(`${name}_sum{${labels}} ${h.sum}`);
  out.push(`${name}_count{${labels}} ${h.count}`);
}

/** Prometheus's text: one `# TYPE` per family that has series, then `istio_build`. */
export function formatIstioSeries(s: IstioSeries, buildTag: string): string {
  if (!s.enabled) return '';
  const out: string[] = [];
  for (const name of COUNTER_FAMILIES) {
    const series = s.counters[name];
    if (series === undefined || Object.keys(series).length === 0) continue;
    out.push(`# TYPE ${name} counter`);
    for (const [labels, v] of Object.entries(series)) out.push(`${name}{${labels}} ${v}`);
  }
  for (const name of HISTOGRAM_FAMILIES) {
    const series = s.histograms[name];
    if (series === undefined || Object.keys(series).length === 0) continue;
    out.push(`# TYPE ${name} histogram`);
    for (const [labels, h] of Object.entries(series)) renderHistogram(name, labels, h, out);
  }
  out.push('# TYPE istio_build gauge', `istio_build{component="proxy",tag="${buildTag}"} 1`);
  return out.join('\n') + '\n';
}
