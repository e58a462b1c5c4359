/**
 * Envoy's previous_priorities retry priority (retry_priority on a route's retry policy): a
 * request remembers the priority level of each host it tried; once it has made
 * `updateFrequency` tries, and again after every further `updateFrequency`, the levels tried
 * so far are excluded and the load is spread over the others by their health. When no level
 * is left with health, the exclusions are forgotten and the cluster's own loads apply.
 */

/** What a pick consults for the priority loads of one request (absent: the cluster's loads). */
export interface PriorityLoadContext {
  priorityLoads(health: readonly number[], original: readonly number[]): readonly number[];
}

/**
 * Loads in whole percents over the levels not excluded, in proportion to their health
 * (total capped at 100, leftovers to the first levels in order); undefined when none has health.
 */
export function loadsExcluding(health: readonly number[], excluded: ReadonlySet<number>): number[] | undefined {
  const adjusted = health.map((h, i) => (excluded.has(i) ? 0 : h));
  const total = Math.min(100, adjusted.reduce((s, h) => s + h, 0));
  if (total === 0) return undefined;
  const loads = adjusted.map(() => 0);
  let remaining = 100;
  while (remaining > 0) {
    for (let i = 0; i < adjusted.length && remaining > 0; i++) {
      const delta = Math.min(remaining, Math.floor((adjusted[i] * 100) / total));
      loads[i] += delta;
      remaining -= delta;
    }
  }
  return loads;
}

export class PreviousPriorities implements PriorityLoadContext {
  /** The priority of each host tried, in order. */
  private attempted: number[] = [];
  private readonly excluded = new Set<number>();
  /** The loads computed at the last update (undefined: the cluster's). */
  private loads: readonly number[] | undefined;

  constructor(private readonly updateFrequency: number) {}

  /** A try went to a host of this priority. */
  onHostAttempted(priority: number): void {
    this.attempted.push(priority);
  }

  priorityLoads(health: readonly number[], original: readonly number[]): readonly number[] {
    const n = this.attempted.length;
    if (n < this.updateFrequency) return original;
    if (n % this.updateFrequency === 0) {
      for (const p of this.attempted) this.excluded.add(p);
      const adjusted = loadsExcluding(health, this.excluded);
      if (adjusted === undefined) {
        // Every level was tried: start over from the cluster's loads.
        this.excluded.clear();
        this.attempted = [];
        this.loads = undefined;
        return original;
      }
      this.loads = adjusted;
    }
    return this.loads ?? original;
  }
}
