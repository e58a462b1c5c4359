/**
 * What the graph and `stat` ask of metrics, in two forms at once: a structured query the
 * control plane's own store evaluates, and the PromQL text a Prometheus server is sent. Both
 * answer with rows `{labels, value}`, as an instant vector.
 *
 *   rate      sum(rate(METRIC{matchers}[Ns])) by (labels) [> 0]
 *   quantile  histogram_quantile(q, sum(rate(METRIC_bucket{matchers}[Ns])) by (le,labels)) [> 0]
 *   sum       sum(METRIC{matchers}) by (labels)                 (the latest value of each series)
 *   or        (A) OR (B)
 *
 * `round` (Kiali wraps its graph queries in `round(...,0.001)`) rounds each value to that step.
 */
import type { Labels } from './exposition-parser.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly label: string;
  readonly op: MatchOp;
  /** For `=~`/`!~`, the regular expression itself (Prometheus anchors it at both ends). */
  readonly value: string;
}

interface QueryBase {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
  readonly by: readonly string[];
  /** Evaluation time, unix seconds. */
  readonly time: number;
  /** Keep only rows whose value is > 0 (Kiali's idle-edge filter). */
  readonly positiveOnly?: boolean;
  readonly round?: number;
  /** The PromQL text sent to Prometheus. */
  readonly promql: string;
}

export interface RateQuery extends QueryBase {
  readonly kind: 'rate';
  readonly windowSec: number;
}

export interface QuantileQuery extends QueryBase {
  readonly kind: 'quantile';
  /** `metric` is the `_bucket` series; `by` excludes `le`. */
  readonly q: number;
  readonly windowSec: number;
}

export interface SumQuery extends QueryBase {
  readonly kind: 'sum';
}

export type SimpleQuery = RateQuery | QuantileQuery | SumQuery;

/** `(A) OR (B) ...`: rows of A, then rows of B whose label set A did not have, and so on. */
export interface UnionQuery {
  readonly kind: 'or';
  readonly parts: readonly SimpleQuery[];
  readonly time: number;
  readonly round?: number;
  readonly promql: string;
}

export type TrafficQuery = SimpleQuery | UnionQuery;

export interface Row {
  readonly labels: Labels;
  readonly value: number;
}

/** Where the graph and `stat` get their rows: the control plane's store, or a Prometheus server. */
export interface TrafficSource {
  readonly kind: 'local' | 'prometheus';
  /** The longest rate window it can answer, in seconds (Infinity: no limit of ours). */
  readonly maxWindowSec: number;
  query(q: TrafficQuery): Promise<Row[]>;
}

/** A PromQL string literal: backslash and double quote escaped. */
export function promString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function renderMatchers(ms: readonly Matcher[]): string {
  return `{${ms.map((m) => `${m.label}${m.op}${promString(m.value)}`).join(',')}}`;
}

export const eq = (label: string, value: string): Matcher => ({ label, op: '=', value });
export const ne = (label: string, value: string): Matcher => ({ label, op: '!=', value });
export const re = (label: string, value: string): Matcher => ({ label, op: '=~', value });

/** Our own queries (stat), rendered in the common PromQL style. */
export function rateQuery(metric: string, matchers: readonly Matcher[], windowSec: number, by: readonly string[], time: number): RateQuery {
  return { kind: 'rate', metric, matchers, windowSec, by, time, promql: `sum(rate(${metric}${renderMatchers(matchers)}[${windowSec}s])) by (${by.join(',')})` };
}

export function quantileQuery(q: number, bucketMetric: string, matchers: readonly Matcher[], windowSec: number, by: readonly string[], time: number): QuantileQuery {
  return {
    kind: 'quantile',
    q,
    metric: bucketMetric,
    matchers,
    windowSec,
    by,
    time,
    promql: `histogram_quantile(${q}, sum(rate(${bucketMetric}${renderMatchers(matchers)}[${windowSec}s])) by (${['le', ...by].join(',')}))`,
  };
}

export function sumQuery(metric: string, matchers: readonly Matcher[], by: readonly string[], time: number): SumQuery {
  return { kind: 'sum', metric, matchers, by, time, promql: `sum(${metric}${renderMatchers(matchers)}) by (${by.join(',')})` };
}
