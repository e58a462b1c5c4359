/**
 * Envoy's priority arithmetic, as pure functions. Each priority level has a health: the
 * share of its hosts that are healthy, scaled by the overprovisioning factor (140 %) and
 * capped at 100. Load goes to the highest priority (0) first; what its health cannot carry
 * spills to the next levels in proportion to their health. When no level has any health,
 * all load stays on priority 0 (where the panic threshold may then apply).
 */
import { DEFAULT_OVERPROVISIONING_FACTOR } from '@minimesh/config/locality-runtime';

/** One level's health, 0..100: min(100, factor × healthy ÷ total), in whole percents. */
export function priorityHealth(healthy: number, total: number, factor = DEFAULT_OVERPROVISIONING_FACTOR): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((factor * healthy) / total));
}

/** Each level's share of the load in whole percents (sums to 100 when there is a level). */
export function priorityLoads(health: readonly number[]): number[] {
  const loads = health.map(() => 0);
  if (health.length === 0) return loads;
  const total = Math.min(100, health.reduce((s, h) => s + h, 0));
  if (total === 0) {
    loads[0] = 100;
    return loads;
  }
  let remaining = 100;
  for (let i = 0; i < health.length; i++) {
    loads[i] = Math.min(remaining, Math.floor((health[i] * 100) / total));
    remaining -= loads[i];
  }
  // Rounding leftovers go to the first level with health, as Envoy does.
  if (remaining > 0) loads[health.findIndex((h) => h > 0)] += remaining;
  return loads;
}

/** The level a draw in 0..99 falls on, given the loads. */
export function choosePriority(loads: readonly number[], draw: number): number {
  let acc = 0;
  for (let i = 0; i < loads.length; i++) {
    acc += loads[i];
    if (draw < acc) return i;
  }
  return Math.max(0, loads.length - 1);
}

/** Envoy's panic rule for one level: its healthy share (by host count) under the threshold; 0 turns panic off. */
export function levelInPanic(healthy: number, total: number, threshold: number): boolean {
  return total > 0 && (100 * healthy) / total < threshold;
}

/**
 * A locality's effective weight under locality-weighted balancing: its configured weight
 * scaled by its own availability (the same capped, overprovisioned health share).
 */
export function effectiveLocalityWeight(weight: number, healthy: number, total: number, factor = DEFAULT_OVERPROVISIONING_FACTOR): number {
  return weight * priorityHealth(healthy, total, factor);
}
