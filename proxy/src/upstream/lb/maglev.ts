/**
 * Envoy's MAGLEV: a lookup table of `table_size` (a prime, 65,537 by default) slots filled by
 * each host's own permutation (an offset and a skip from two hashes of its address), hosts
 * taking turns in proportion to their weight. A request's hash picks a slot. Hosts coming and
 * going move few keys, and a lookup is one array read.
 */
import type { HashLbRt } from '@minimesh/config';
import type { LbHost, LoadBalancer } from './load-balancer.js';
import { hash32 } from './hash-key.js';

export class Maglev<H extends LbHost> implements LoadBalancer<H> {
  private readonly table: (H | undefined)[];

  constructor(hosts: readonly H[], config: Extract<HashLbRt, { kind: 'maglev' }> = { kind: 'maglev', tableSize: 65_537 }) {
    const m = config.tableSize;
    const live = hosts.filter((h) => h.weight > 0);
    const table: (H | undefined)[] = new Array(m);
    if (live.length > 0) {
      const maxWeight = Math.max(...live.map((h) => h.weight));
      const entries = live.map((h) => ({ host: h, offset: hash32(h.key, 0) % m, skip: (hash32(h.key, 1) % (m - 1)) + 1, next: 0, weight: h.weight / maxWeight, target: 0 }));
      let filled = 0;
      for (let iteration = 1; filled < m; iteration++) {
        for (const e of entries) {
          if (filled >= m) break;
          // A host of full weight takes a slot every round; one of a third, every third round.
          if (iteration * e.weight < e.target) continue;
          e.target += 1;
          let c = (e.offset + e.skip * e.next) % m;
          while (table[c] !== undefined) {
            e.next++;
            c = (e.offset + e.skip * e.next) % m;
          }
          table[c] = e.host;
          e.next++;
          filled++;
        }
      }
    }
    this.table = live.length > 0 ? table : [];
  }

  pick(avoid: ReadonlySet<H> | null, hash?: number): H | undefined {
    const m = this.table.length;
    if (m === 0) return undefined;
    const key = hash ?? Math.floor(Math.random() * 2 ** 32);
    let i = key % m;
    const first = this.table[i]!;
    if (avoid === null || !avoid.has(first)) return first;
    for (let step = 1; step < m; step++) {
      i = i + 1 === m ? 0 : i + 1;
      if (!avoid.has(this.table[i]!)) return this.table[i];
    }
    return first;
  }
}
