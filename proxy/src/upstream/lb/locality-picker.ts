/**
 * Envoy's locality-weighted balancing within one priority: a locality is chosen by its
 * effective weight (configured weight × availability), in a smooth weighted round robin
 * so choices interleave; then the locality's own balancer picks a host among its healthy
 * hosts. Localities without a weight, or without a healthy host, get no load.
 */
import type { LoadBalancer } from './load-balancer.js';
import type { PriorityHost } from './priority-set.js';
import { effectiveLocalityWeight } from './priority-load.js';

interface LocalityEntry<H extends PriorityHost> {
  readonly key: string;
  readonly weight: number;
  readonly lb: LoadBalancer<H>;
  current: number;
}

export class LocalityPicker<H extends PriorityHost> implements LoadBalancer<H> {
  private readonly entries: LocalityEntry<H>[] = [];
  private readonly total: number;

  constructor(all: readonly H[], healthy: ReadonlySet<H>, makeLb: (hosts: H[]) => LoadBalancer<H>, factor?: number) {
    const groups = new Map<string, { all: H[]; healthy: H[]; weight: number }>();
    for (const h of all) {
      let g = groups.get(h.localityKey);
      if (g === undefined) groups.set(h.localityKey, (g = { all: [], healthy: [], weight: h.localityWeight }));
      g.all.push(h);
      if (healthy.has(h)) g.healthy.push(h);
    }
    for (const [key, g] of groups) {
      const weight = effectiveLocalityWeight(g.weight, g.healthy.length, g.all.length, factor);
      if (weight > 0) this.entries.push({ key, weight, lb: makeLb(g.healthy), current: 0 });
    }
    this.total = this.entries.reduce((s, e) => s + e.weight, 0);
  }

  /** The localities that take load and their effective weights (for tests and /clusters). */
  weights(): ReadonlyMap<string, number> {
    return new Map(this.entries.map((e) => [e.key, e.weight]));
  }

  pick(avoid: ReadonlySet<H> | null, hash?: number): H | undefined {
    if (this.entries.length === 0) return undefined;
    let best = this.entries[0];
    for (const e of this.entries) {
      e.current += e.weight;
      if (e.current > best.current) best = e;
    }
    best.current -= this.total;
    return best.lb.pick(avoid, hash);
  }
}
