/**
 * Envoy's RING_HASH (Ketama): each host owns points on a ring of 2^32; a request's hash goes to
 * the first point at or after it, wrapping.
 *
 * One difference from Envoy, for consistency: Envoy spreads about `minimum_ring_size` points
 * over all hosts, so a host's share of points changes when another host leaves or joins and
 * some keys move between hosts that stayed. Here every host gets `minimum_ring_size` points per
 * unit of the smallest weight (the ring is never smaller than Envoy's, and at most
 * `maximum_ring_size`), so a host's points do not depend on the others: when a host leaves only
 * its keys move, and a host that joins takes keys only for itself.
 */
import type { HashLbRt } from '@minimesh/config';
import type { LbHost, LoadBalancer } from './load-balancer.js';
import { hash32 } from './hash-key.js';

export class RingHash<H extends LbHost> implements LoadBalancer<H> {
  private readonly points: Uint32Array;
  private readonly owners: H[];

  constructor(hosts: readonly H[], config: Extract<HashLbRt, { kind: 'ring' }> = { kind: 'ring', minRingSize: 1024, maxRingSize: 8_388_608 }) {
    const live = hosts.filter((h) => h.weight > 0);
    const entries: { hash: number; host: H }[] = [];
    if (live.length > 0) {
      const minWeight = Math.min(...live.map((h) => h.weight));
      const total = live.reduce((s, h) => s + h.weight / minWeight, 0);
      const perUnit = Math.max(1, Math.min(config.minRingSize, Math.floor(config.maxRingSize / total)));
      for (const h of live) {
        const count = Math.ceil((perUnit * h.weight) / minWeight);
        for (let i = 0; i < count; i++) entries.push({ hash: hash32(`${h.key}_${i}`), host: h });
      }
    }
    entries.sort((a, b) => a.hash - b.hash);
    this.points = Uint32Array.from(entries, (e) => e.hash);
    this.owners = entries.map((e) => e.host);
  }

  get size(): number {
    return this.points.length;
  }

  pick(avoid: ReadonlySet<H> | null, hash?: number): H | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const key = hash ?? Math.floor(Math.random() * 2 ** 32);
    // The first point at or after the key.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    let i = lo === n ? 0 : lo;
    const first = this.owners[i];
    if (avoid === null || !avoid.has(first)) return first;
    // A retry walks on along the ring to a host it has not tried.
    for (let step = 1; step < n; step++) {
      i = i + 1 === n ? 0 : i + 1;
      if (!avoid.has(this.owners[i])) return this.owners[i];
    }
    return first;
  }
}
