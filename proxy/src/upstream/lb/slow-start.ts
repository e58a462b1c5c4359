/**
 * Envoy's slow start for ROUND_ROBIN and LEAST_REQUEST (Istio's `warmupDurationSecs`): a host
 * that joined the cluster less than `slow_start_window` ago has its weight scaled by
 * max(min_weight_percent, timeFactor^(1/aggression)), timeFactor = max(age s, 1) ÷ window s.
 * While some host ramps up, picks are a smooth weighted round robin on the scaled weights
 * (for LEAST_REQUEST also divided by requests in flight + 1, as Envoy weighs unequal hosts);
 * once every host is past its window, the plain balancer picks.
 */
import type { SlowStartRt } from '@minimesh/config/slow-start-runtime';
import type { LbHost, LoadBalancer } from './load-balancer.js';

export interface SlowStartHost extends LbHost {
  /** When the host joined the cluster (ms, the clock's scale). */
  readonly addedAt: number;
}

/** The weight multiplier for a host `ageMs` old, in (0, 1]. */
export function slowStartFactor(ageMs: number, cfg: SlowStartRt): number {
  if (ageMs >= cfg.windowMs) return 1;
  const timeFactor = Math.max(ageMs / 1000, 1) / (cfg.windowMs / 1000);
  return Math.min(1, Math.max(cfg.minWeightPercent / 100, Math.pow(timeFactor, 1 / cfg.aggression)));
}

export class SlowStartLb<H extends SlowStartHost> implements LoadBalancer<H> {
  private readonly current: number[];

  constructor(
    private readonly inner: LoadBalancer<H>,
    private readonly hosts: readonly H[],
    private readonly cfg: SlowStartRt,
    private readonly leastRequest: boolean,
    private readonly clock: () => number = Date.now,
  ) {
    this.current = hosts.map(() => 0);
  }

  pick(avoid: ReadonlySet<H> | null, hash?: number): H | undefined {
    const now = this.clock();
    if (this.hosts.length < 2 || this.hosts.every((h) => now - h.addedAt >= this.cfg.windowMs)) return this.inner.pick(avoid, hash);
    const usable = avoid === null || this.hosts.every((h) => avoid.has(h)) ? null : avoid;
    let total = 0;
    let best = -1;
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[i];
      if (usable !== null && usable.has(h)) continue;
      const w = (h.weight * slowStartFactor(now - h.addedAt, this.cfg)) / (this.leastRequest ? h.activeRequests + 1 : 1);
      this.current[i] += w;
      total += w;
      if (best < 0 || this.current[i] > this.current[best]) best = i;
    }
    this.current[best] -= total;
    return this.hosts[best];
  }
}
