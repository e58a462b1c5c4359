/** Envoy's RANDOM: a host chosen at random, in proportion to its weight. */
import type { LbHost, LoadBalancer } from './load-balancer.js';

export class RandomLb<H extends LbHost> implements LoadBalancer<H> {
  private readonly total: number;

  constructor(private readonly hosts: readonly H[]) {
    this.total = hosts.reduce((s, h) => s + h.weight, 0);
  }

  pick(avoid: ReadonlySet<H> | null): H | undefined {
    if (this.hosts.length === 0) return undefined;
    let h = this.pickOne();
    for (let i = 0; avoid !== null && avoid.has(h) && i < this.hosts.length; i++) h = this.pickOne();
    return h;
  }

  private pickOne(): H {
    let r = Math.random() * this.total;
    for (const h of this.hosts) {
      r -= h.weight;
      if (r < 0) return h;
    }
    return this.hosts[this.hosts.length - 1];
  }
}
