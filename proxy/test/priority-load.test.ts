/**
 * Envoy's priority and locality arithmetic on fake hosts (deterministic): level health with
 * the 1.4 overprovisioning factor, load spilling to lower priorities as hosts go unhealthy,
 * per-level panic, locality weights scaled by availability.
 */
import t from 'tap';
import { choosePriority, effectiveLocalityWeight, levelInPanic, priorityHealth, priorityLoads } from '../src/upstream/lb/priority-load.js';
import { PrioritySet, type PriorityHost } from '../src/upstream/lb/priority-set.js';
import { RoundRobin } from '../src/upstream/lb/round-robin.js';

interface Fake extends PriorityHost {
  ok: boolean;
}
const host = (key: string, priority: number, localityKey = '', localityWeight = 0, ok = true): Fake => ({ key, weight: 1, activeRequests: 0, priority, localityKey, localityWeight, ok });

t.test('level health: min(100, 140 × healthy ÷ total)', async (t) => {
  t.equal(priorityHealth(4, 4), 100);
  t.equal(priorityHealth(3, 4), 100, '75 % healthy × 1.4 = 105, capped');
  t.equal(priorityHealth(1, 2), 70);
  t.equal(priorityHealth(1, 4), 35);
  t.equal(priorityHealth(0, 4), 0);
  t.equal(priorityHealth(0, 0), 0, 'an empty level has no health');
  t.equal(priorityHealth(1, 2, 100), 50, 'factor 100: no overprovisioning');
});

t.test('priority loads: the first level keeps what its health carries, the rest spills', async (t) => {
  t.same(priorityLoads([100, 100]), [100, 0]);
  t.same(priorityLoads([70, 100]), [70, 30], "Envoy's documented example: P0 half healthy");
  t.same(priorityLoads([35, 100, 100]), [35, 65, 0]);
  t.same(priorityLoads([0, 100]), [0, 100], 'P0 all ejected: everything fails over');
  t.same(priorityLoads([0, 35, 35]), [0, 50, 50], 'the health sum under 100 is normalised');
  t.same(priorityLoads([0, 0]), [100, 0], 'nothing healthy anywhere: all on P0');
  t.same(priorityLoads([30, 30, 30]), [34, 33, 33], 'rounding leftovers go to the first level with health');
  t.same(priorityLoads([]), []);
  t.equal(choosePriority([70, 30], 0), 0);
  t.equal(choosePriority([70, 30], 69), 0);
  t.equal(choosePriority([70, 30], 70), 1);
  t.equal(choosePriority([0, 100], 0), 1);
});

t.test('panic per level and locality weights', async (t) => {
  t.equal(levelInPanic(1, 4, 50), true);
  t.equal(levelInPanic(2, 4, 50), false);
  t.equal(levelInPanic(0, 4, 0), false, 'threshold 0 turns panic off');
  t.equal(effectiveLocalityWeight(3, 1, 2), 210);
  t.equal(effectiveLocalityWeight(3, 2, 2), 300);
  t.equal(effectiveLocalityWeight(0, 2, 2), 0, 'no weight, no load');
});

function counts(set: PrioritySet<Fake>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const h = set.pick(null).host;
    const k = h?.key ?? 'none';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** A draw that walks 0..99 in turn: over 100 picks every percent is drawn once. */
function sweep(): () => number {
  let i = 0;
  return () => (i++ % 100) / 100;
}

t.test('PrioritySet: failover as P0 hosts go unhealthy', async (t) => {
  const hosts = [host('a0', 0), host('b0', 0), host('c1', 1), host('d1', 1)];
  const make = (): PrioritySet<Fake> => new PrioritySet(hosts, (h) => h.ok, { makeLb: (hs) => new RoundRobin(hs), panicThreshold: 0, localityWeighted: false, random: sweep() });
  t.same(counts(make(), 100), { a0: 50, b0: 50 }, 'all healthy: only P0');
  hosts[0].ok = false;
  const half = make();
  t.same(half.loads, [70, 30]);
  t.same(counts(half, 100), { b0: 70, c1: 15, d1: 15 });
  hosts[1].ok = false;
  t.same(counts(make(), 100), { c1: 50, d1: 50 }, 'P0 gone: P1 takes everything');
  hosts[2].ok = hosts[3].ok = false;
  t.same(counts(make(), 10), { none: 10 }, 'nothing healthy and panic off: no host');
  const panicky = new PrioritySet(hosts, (h) => h.ok, { makeLb: (hs) => new RoundRobin(hs), panicThreshold: 50, localityWeighted: false, random: sweep() });
  const p = panicky.pick(null);
  t.equal(p.panic, true);
  t.equal(p.priority, 0, 'nothing healthy: P0, in panic, over all its hosts');
  t.ok(p.host?.key === 'a0' || p.host?.key === 'b0');
});

t.test('PrioritySet: a hash fixes the level (hash % 100)', async (t) => {
  const hosts = [host('a0', 0, '', 0, false), host('b0', 0), host('c1', 1)];
  const set = new PrioritySet(hosts, (h) => h.ok, { makeLb: (hs) => new RoundRobin(hs), panicThreshold: 0, localityWeighted: false });
  t.same(set.loads, [70, 30]);
  t.equal(set.pick(null, 169).host?.key, 'b0');
  t.equal(set.pick(null, 170).host?.key, 'c1');
});

t.test('PrioritySet: locality-weighted within a level', async (t) => {
  const hosts = [host('x1', 0, 'r/z1/', 1), host('x2', 0, 'r/z1/', 1), host('y1', 0, 'r/z2/', 3), host('z1', 0, 'r/z3/', 0)];
  const opts = { makeLb: (hs: Fake[]) => new RoundRobin(hs), panicThreshold: 0, localityWeighted: true };
  t.same(counts(new PrioritySet(hosts, (h) => h.ok, opts), 400), { x1: 50, x2: 50, y1: 300 }, '1:3 by weight; the zone without weight gets nothing');
  hosts[0].ok = false;
  // z1 keeps 1 × 70, z2 3 × 100: 70 / 370 of the load.
  const c = counts(new PrioritySet(hosts, (h) => h.ok, opts), 370);
  t.same(c, { x2: 70, y1: 300 });
  hosts[2].ok = false;
  t.same(counts(new PrioritySet(hosts, (h) => h.ok, opts), 10), { x2: 10 });
});
