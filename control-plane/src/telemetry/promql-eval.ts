/**
 * The few PromQL functions the graph and `stat` need, with Prometheus's semantics:
 *
 * - `extrapolatedRate`: `rate(v[range])` for one counter series, as Prometheus computes it
 *   (promql/functions.go): samples in the left-open window (t-range, t]; at least two needed;
 *   a drop in value is a counter reset (the value before the drop is added back); the increase
 *   is then **extrapolated** towards the window's edges: by the gap to the edge when it is
 *   under 1.1 x the average sample interval, else by half an interval; and never below zero
 *   at the start (the extrapolation to the start stops where the counter would reach 0).
 * - `sumBy`: `sum(...) by (labels)`, series missing a label grouped under "" as Prometheus does.
 * - `bucketQuantile` / `histogramQuantile`: `histogram_quantile`, linear interpolation inside
 *   the bucket holding the rank, +Inf bucket required, counts made monotonic first, the upper
 *   bound of the last finite bucket when the rank falls in +Inf, the lowest bucket interpolated
 *   from 0 (when its bound is positive).
 */
import type { Labels } from './exposition-parser.js';
import type { Matcher, Row } from './traffic-query.js';

const regexCache = new Map<string, RegExp>();

function anchored(re: string): RegExp {
  let r = regexCache.get(re);
  if (!r) {
    r = new RegExp(`^(?:${re})$`, 's');
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(re, r);
  }
  return r;
}

/** Whether a series' labels satisfy every matcher (an absent label matches as ""). */
export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) {
    const v = labels[m.label] ?? '';
    switch (m.op) {
      case '=':
        if (v !== m.value) return false;
        break;
      case '!=':
        if (v === m.value) return false;
        break;
      case '=~':
        if (!anchored(m.value).test(v)) return false;
        break;
      case '!~':
        if (anchored(m.value).test(v)) return false;
        break;
    }
  }
  return true;
}

/**
 * Prometheus's `rate()` of one counter series at `evalMs` over `rangeMs`, per second; undefined
 * when fewer than two samples fall in the window (Prometheus returns no series then).
 */
export function extrapolatedRate(t: readonly number[], v: readonly number[], evalMs: number, rangeMs: number): number | undefined {
  const start = evalMs - rangeMs;
  let first = -1;
  let last = -1;
  for (let i = 0; i < t.length; i++) {
    if (t[i] <= start) continue;
    if (t[i] > evalMs) break;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0 || last - first < 1) return undefined;
  let increase = v[last] - v[first];
  for (let i = first + 1; i <= last; i++) if (v[i] < v[i - 1]) increase += v[i - 1];
  const sampled = (t[last] - t[first]) / 1000;
  const avgInterval = sampled / (last - first);
  let toStart = (t[first] - start) / 1000;
  const toEnd = (evalMs - t[last]) / 1000;
  if (increase > 0 && v[first] >= 0) {
    const toZero = sampled * (v[first] / increase);
    if (toZero < toStart) toStart = toZero;
  }
  const threshold = avgInterval * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : avgInterval / 2;
  interval += toEnd < threshold ? toEnd : avgInterval / 2;
  return (increase * (interval / sampled)) / (rangeMs / 1000);
}

/** The newest value at or before `evalMs`, no older than `lookbackMs` (Prometheus: 5 minutes). */
export function instantValue(t: readonly number[], v: readonly number[], evalMs: number, lookbackMs = 5 * 60_000): number | undefined {
  for (let i = t.length - 1; i >= 0; i--) {
    if (t[i] > evalMs) continue;
    return t[i] > evalMs - lookbackMs ? v[i] : undefined;
  }
  return undefined;
}

function groupKey(labels: Labels, by: readonly string[]): string {
  return by.map((l) => labels[l] ?? '').join('\u0000');
}

/** `sum(...) by (by)`: the output rows carry only the `by` labels (those present). */
export function sumBy(rows: Iterable<Row>, by: readonly string[]): Row[] {
  const groups = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const r of rows) {
    const k = groupKey(r.labels, by);
    let g = groups.get(k);
    if (!g) {
      const labels: Record<string, string> = {};
      for (const l of by) if (r.labels[l] !== undefined && r.labels[l] !== '') labels[l] = r.labels[l];
      groups.set(k, (g = { labels, value: 0 }));
    }
    g.value += r.value;
  }
  return [...groups.values()];
}

export interface Bucket {
  readonly upperBound: number;
  readonly count: number;
}

/** Prometheus's `bucketQuantile`: NaN when it cannot answer. */
export function bucketQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound);
  // Coalesce equal bounds, then force counts to be monotonic (rate noise can break that).
  const buckets: { upperBound: number; count: number }[] = [];
  for (const b of sorted) {
    const prev = buckets[buckets.length - 1];
    if (prev && prev.upperBound === b.upperBound) prev.count += b.count;
    else buckets.push({ ...b });
  }
  if (buckets.length < 2 || buckets[buckets.length - 1].upperBound !== Infinity) return NaN;
  for (let i = 1; i < buckets.length; i++) if (buckets[i].count < buckets[i - 1].count) buckets[i].count = buckets[i - 1].count;
  const observations = buckets[buckets.length - 1].count;
  if (!(observations > 0)) return NaN;
  let rank = q * observations;
  let b = buckets.findIndex((x) => x.count >= rank);
  if (b < 0) b = buckets.length - 1;
  if (b === buckets.length - 1) return buckets[buckets.length - 2].upperBound;
  if (b === 0 && buckets[0].upperBound <= 0) return buckets[0].upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b].upperBound;
  let count = buckets[b].count;
  if (b > 0) {
    bucketStart = buckets[b - 1].upperBound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/**
 * `histogram_quantile(q, <rows>)` where rows are `sum(rate(X_bucket...)) by (le, by...)`: one
 * row per group of `by`; rows without a parsable `le` are ignored.
 */
export function histogramQuantile(q: number, rows: Iterable<Row>, by: readonly string[]): Row[] {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const r of rows) {
    const le = r.labels.le;
    if (le === undefined) continue;
    const upperBound = le === '+Inf' ? Infinity : Number(le);
    if (Number.isNaN(upperBound)) continue;
    const k = groupKey(r.labels, by);
    let g = groups.get(k);
    if (!g) {
      const labels: Record<string, string> = {};
      for (const l of by) if (r.labels[l] !== undefined && r.labels[l] !== '') labels[l] = r.labels[l];
      groups.set(k, (g = { labels, buckets: [] }));
    }
    g.buckets.push({ upperBound, count: r.value });
  }
  return [...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(q, g.buckets) }));
}

/** Prometheus's `round(v, step)`. */
export function roundTo(v: number, step: number): number {
  const inverse = 1 / step;
  return Math.floor(v * inverse + 0.5) / inverse;
}
