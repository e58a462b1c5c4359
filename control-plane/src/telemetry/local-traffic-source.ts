/**
 * The TrafficSource over the control plane's own store: evaluates each query with Prometheus's
 * semantics (see promql-eval.ts) over the series scraped from the proxies. Windows are limited
 * to what the store keeps.
 */
import type { MetricStore } from './metric-store.js';
import { extrapolatedRate, histogramQuantile, instantValue, matchesAll, roundTo, sumBy } from './promql-eval.js';
import type { Row, SimpleQuery, TrafficQuery, TrafficSource } from './traffic-query.js';

export class LocalTrafficSource implements TrafficSource {
  readonly kind = 'local' as const;

  constructor(private readonly store: MetricStore) {}

  get maxWindowSec(): number {
    return Math.floor(this.store.retentionMs / 1000);
  }

  async query(q: TrafficQuery): Promise<Row[]> {
    return evaluateLocally(this.store, q);
  }
}

/** Evaluates one query against the store (synchronous; pure but for reading the store). */
export function evaluateLocally(store: MetricStore, q: TrafficQuery): Row[] {
  if (q.kind === 'or') {
    const seen = new Set<string>();
    const out: Row[] = [];
    for (const part of q.parts) {
      for (const r of evaluateSimple(store, part)) {
        const key = JSON.stringify(Object.entries(r.labels).sort());
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(r);
      }
    }
    return q.round === undefined ? out : out.map((r) => ({ labels: r.labels, value: roundTo(r.value, q.round!) }));
  }
  return evaluateSimple(store, q);
}

function evaluateSimple(store: MetricStore, q: SimpleQuery): Row[] {
  const evalMs = q.time * 1000;
  const perSeries: Row[] = [];
  for (const s of store.series(q.metric)) {
    if (!matchesAll(s.labels, q.matchers)) continue;
    const value = q.kind === 'sum' ? instantValue(s.t, s.v, evalMs) : extrapolatedRate(s.t, s.v, evalMs, q.windowSec * 1000);
    if (value !== undefined) perSeries.push({ labels: s.labels, value });
  }
  let rows = q.kind === 'quantile' ? histogramQuantile(q.q, sumBy(perSeries, ['le', ...q.by]), q.by) : sumBy(perSeries, q.by);
  if (q.positiveOnly) rows = rows.filter((r) => r.value > 0);
  if (q.round !== undefined) rows = rows.map((r) => ({ labels: r.labels, value: roundTo(r.value, q.round!) }));
  return rows;
}
