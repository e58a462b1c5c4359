/**
 * A Prometheus histogram on fixed bounds (Envoy's default buckets unless told otherwise):
 * counts per bucket (not cumulative: one increment per record), sum and count. Rendered as
 * `_bucket{le}` (cumulative), `_sum` and `_count`.
 */
import { DEFAULT_HISTOGRAM_BUCKETS } from '@minimesh/mesh';

export class Histogram {
  /** counts[i] = values in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = DEFAULT_HISTOGRAM_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }

  /** Adds another histogram on the same bounds (label sets that merge when a tag is removed). */
  add(o: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += o.counts[i];
    this.sum += o.sum;
    this.count += o.count;
  }

  /** The exposition lines of this histogram; `labels` is the rendered label list without braces. */
  render(name: string, labels: string, out: string[]): void {
    const sep = labels === '' ? '' : ',';
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i];
      out.push(`${name}_bucket{${labels}${sep}le="${this.bounds[i]}"} ${cumulative}`);
    }
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.count}`);
  }
}
