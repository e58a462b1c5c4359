/**
 * Envoy's ROUND_ROBIN: hosts in turn; with unequal weights, each host is chosen in
 * proportion to its weight (a smooth weighted round robin, so picks interleave).
 */
import type { LbHost, LoadBalancer } from './load-balancer.js';

export class RoundRobin<H extends LbHost> implements LoadBalancer<H> {
  private next = 0;
  private readonly weighted: boolean;
  private readonly current: number[];
  private readonly totalWeight: number;

  constructor(private readonly hosts: readonly H[]) {
    this.weighted = hosts.some((h) => h.weight !== hosts[0].weight);
    this.current = hosts.map(() => 0);
    this.totalWeight = hosts.reduce((s, h) => s + h.weight, 0);
  }

  pick(avoid: ReadonlySet<H> | null): H | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    if (n === 1) return this.hosts[0];
    let h = this.pickOne();
    if (avoid !== null && avoid.has(h)) {
      // Try each other host once; fall back to the first pick if all were tried.
      for (let i = 0; i < n - 1; i++) {
        const other = this.pickOne();
        if (!avoid.has(other)) return other;
      }
    }
    return h;
  }

  private pickOne(): H {
    if (!this.weighted) {
      const h = this.hosts[this.next];
      this.next = (this.next + 1) % this.hosts.length;
      return h;
    }
    let best = 0;
    for (let i = 0; i < this.hosts.length; i++) {
      this.current[i] += this.hosts[i].weight;
      if (this.current[i] > this.current[best]) best = i;
    }
    this.current[best] -= this.totalWeight;
    return this.hosts[best];
  }
}
