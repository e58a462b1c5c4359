/**
 * Envoy's LEAST_REQUEST (Istio's default): power of two choices. Two hosts drawn at
 * random, the one with fewer requests in flight wins (`choice_count` 2).
 */
import type { LbHost, LoadBalancer } from './load-balancer.js';

export class LeastRequest<H extends LbHost> implements LoadBalancer<H> {
  constructor(private readonly hosts: readonly H[]) {}

  pick(avoid: ReadonlySet<H> | null): H | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    if (n === 1) return this.hosts[0];
    for (let tries = 0; ; tries++) {
      const a = this.hosts[Math.floor(Math.random() * n)];
      const b = this.hosts[Math.floor(Math.random() * n)];
      const h = b.activeRequests < a.activeRequests ? b : a;
      if (avoid === null || !avoid.has(h) || tries >= n) return h;
    }
  }
}
