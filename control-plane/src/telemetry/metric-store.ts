/**
 * The control plane's own short-term metric store: the `istio_*` samples of every scrape, per
 * target and series, for a bounded time (default 10 minutes). Points older than the retention
 * are dropped on every write, a series with no point left is dropped with them, and a cap on
 * the number of series (default 200,000) keeps a misbehaving target from taking the memory:
 * new series beyond it are refused and counted.
 */
import type { Labels, Sample } from './exposition-parser.js';

export const DEFAULT_RETENTION_MS = 10 * 60_000;
export const DEFAULT_MAX_SERIES = 200_000;

export interface StoredSeries {
  readonly target: string;
  readonly name: string;
  readonly labels: Labels;
  /** Scrape times (ms since the epoch), ascending, and the values at those times. */
  readonly t: number[];
  readonly v: number[];
}

export interface MetricStoreOptions {
  readonly retentionMs?: number;
  readonly maxSeries?: number;
}

function seriesKey(target: string, name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return `${target}\u0000${name}\u0000${parts.join('\u0001')}`;
}

export class MetricStore {
  readonly retentionMs: number;
  readonly maxSeries: number;
  /** Series by metric name, then by key. */
  private readonly byName = new Map<string, Map<string, StoredSeries>>();
  private count = 0;
  /** New series refused because the store was full. */
  refusedSeries = 0;

  constructor(opts: MetricStoreOptions = {}) {
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxSeries = opts.maxSeries ?? DEFAULT_MAX_SERIES;
    if (!(this.retentionMs > 0)) throw new Error(`metric store: retention must be positive, got ${this.retentionMs} ms`);
  }

  /** Records one scrape of `target` taken at `at` (ms), then drops what is past the retention. */
  ingest(target: string, samples: readonly Sample[], at: number): void {
    for (const s of samples) {
      let byKey = this.byName.get(s.name);
      if (!byKey) this.byName.set(s.name, (byKey = new Map()));
      const key = seriesKey(target, s.name, s.labels);
      let series = byKey.get(key);
      if (!series) {
        if (this.count >= this.maxSeries) {
          this.refusedSeries++;
          continue;
        }
        series = { target, name: s.name, labels: s.labels, t: [], v: [] };
        byKey.set(key, series);
        this.count++;
      }
      const last = series.t.length - 1;
      if (last >= 0 && series.t[last] >= at) {
        // Same scrape time twice (a clock step back): keep the newer value only.
        series.v[last] = s.value;
        continue;
      }
      series.t.push(at);
      series.v.push(s.value);
    }
    this.prune(at);
  }

  /** Drops points older than `now - retention`, and series left empty. */
  prune(now: number): void {
    const cutoff = now - this.retentionMs;
    for (const [name, byKey] of this.byName) {
      for (const [key, s] of byKey) {
        let k = 0;
        while (k < s.t.length && s.t[k] < cutoff) k++;
        if (k > 0) {
          s.t.splice(0, k);
          s.v.splice(0, k);
        }
        if (s.t.length === 0) {
          byKey.delete(key);
          this.count--;
        }
      }
      if (byKey.size === 0) this.byName.delete(name);
    }
  }

  /** Every stored series of one metric. */
  series(name: string): Iterable<StoredSeries> {
    return this.byName.get(name)?.values() ?? [];
  }

  get seriesCount(): number {
    return this.count;
  }

  get pointCount(): number {
    let n = 0;
    for (const byKey of this.byName.values()) for (const s of byKey.values()) n += s.t.length;
    return n;
  }
}
