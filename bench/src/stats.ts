// Small numeric helpers.

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** median of the defined values, or null when there are none */
export function medianOf(values: readonly (number | null | undefined)[]): number | null {
  const defined = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return defined.length === 0 ? null : median(defined);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** the p-th percentile (0 < p ≤ 100) of ascending `sorted` by nearest rank; NaN when empty */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50, p90, p99 and max of some latencies (any order) */
export function latencySummary(values: readonly number[] | Float64Array): { p50: number; p90: number; p99: number; max: number } {
  const s = Float64Array.from(values).sort();
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length === 0 ? Number.NaN : s[s.length - 1] };
}
