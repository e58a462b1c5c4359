/**
 * Envoy's slow start on fake hosts with a fake clock (deterministic): the weight curve
 * (min_weight_percent floor, aggression), the share a new host gets while it ramps up, a
 * replacing cluster keeping a host's join time; and the compiler's reading of slow_start_config.
 */
import t from 'tap';
import { compileCluster, type ClusterRt } from '@minimesh/config';
import { fromJsonData, TYPE_URL, type Cluster as ClusterProto } from '@minimesh/api';
import { SlowStartLb, slowStartFactor, type SlowStartHost } from '../src/upstream/lb/slow-start.js';
import { RoundRobin } from '../src/upstream/lb/round-robin.js';
import { Cluster } from '../src/upstream/cluster.js';
import { ClusterStats } from '../src/observability/stats.js';

const CFG = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };

t.test('the weight curve', async (t) => {
  t.equal(slowStartFactor(0, CFG), 0.1, 'max(1 s, age) / 10 s = 0.1');
  t.equal(slowStartFactor(5_000, CFG), 0.5);
  t.equal(slowStartFactor(10_000, CFG), 1, 'past the window: full weight');
  t.equal(slowStartFactor(0, { ...CFG, minWeightPercent: 30 }), 0.3, 'the floor');
  t.equal(slowStartFactor(2_500, { ...CFG, aggression: 2, minWeightPercent: 0 }), 0.5, 'aggression 2: sqrt(0.25)');
});

function share(lb: SlowStartLb<SlowStartHost>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const k = lb.pick(null)!.key;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

t.test('a new host takes a growing share; old hosts the rest', async (t) => {
  let now = 100_000;
  const hosts: SlowStartHost[] = [
    { key: 'old', weight: 1, activeRequests: 0, addedAt: 0 },
    { key: 'new', weight: 1, activeRequests: 0, addedAt: now },
  ];
  const lb = new SlowStartLb(new RoundRobin(hosts), hosts, CFG, false, () => now);
  t.same(share(lb, 110), { old: 100, new: 10 }, 'at 0 s: weight 0.1 against 1');
  now += 5_000;
  t.same(share(lb, 150), { old: 100, new: 50 }, 'at 5 s: 0.5 against 1');
  now += 5_000;
  t.same(share(lb, 100), { old: 50, new: 50 }, 'past the window: plain round robin');
  t.equal(lb.pick(new Set([hosts[0]]))!.key, 'new', 'avoid is honoured');
});

t.test('least request weighs by requests in flight too', async (t) => {
  const now = 0;
  const hosts: SlowStartHost[] = [
    { key: 'busy', weight: 1, activeRequests: 3, addedAt: -60_000 },
    { key: 'new', weight: 1, activeRequests: 0, addedAt: 0 },
  ];
  const lb = new SlowStartLb(new RoundRobin(hosts), hosts, { ...CFG, minWeightPercent: 50 }, true, () => now);
  // busy: 1 / 4 = 0.25; new: 0.5 / 1 = 0.5.
  t.same(share(lb, 30), { busy: 10, new: 20 });
});

function compile(extra: Record<string, unknown>): ReturnType<typeof compileCluster> {
  const json = { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] }, ...extra };
  const p = fromJsonData<ClusterProto>(TYPE_URL.Cluster, json);
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return compileCluster(p.value);
}

t.test('compile: slow_start_config on ROUND_ROBIN and LEAST_REQUEST', async (t) => {
  const rr = compile({ lb_policy: 'ROUND_ROBIN', round_robin_lb_config: { slow_start_config: { slow_start_window: '30s' } } });
  t.same(rr.ok && rr.value.slowStart, { windowMs: 30_000, aggression: 1, minWeightPercent: 10 });
  const lr = compile({ lb_policy: 'LEAST_REQUEST', least_request_lb_config: { slow_start_config: { slow_start_window: '5s', aggression: { default_value: 2, runtime_key: 'k' }, min_weight_percent: { value: 20 } } } });
  t.same(lr.ok && lr.value.slowStart, { windowMs: 5_000, aggression: 2, minWeightPercent: 20 });
  const bad = compile({ lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 3 } });
  t.match(bad.ok ? '' : bad.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), /least_request_lb_config\.choice_count: only 2/);
  const ignored = compile({ lb_policy: 'RANDOM', round_robin_lb_config: { slow_start_config: { slow_start_window: '5s' } } });
  t.ok(ignored.ok && ignored.value.slowStart === undefined && (ignored.warnings ?? []).some((w) => /ignored: lb_policy is RANDOM/.test(w.message)));
});

t.test('a replacing cluster keeps the join time of hosts it still has', async (t) => {
  const base = compile({ lb_policy: 'ROUND_ROBIN', round_robin_lb_config: { slow_start_config: { slow_start_window: '30s' } } });
  if (!base.ok) throw new Error('compile');
  const cfg = (ports: number[]): ClusterRt => ({ ...base.value, endpoints: ports.map((port) => ({ ...base.value.endpoints[0], port })) });
  const old = new Cluster(cfg([1, 2]), new ClusterStats());
  old.hosts[0].addedAt = 42;
  const next = new Cluster(cfg([1, 3]), new ClusterStats());
  next.inherit(old);
  t.equal(next.hosts[0].addedAt, 42, 'host :1 keeps its time');
  t.ok(next.hosts[1].addedAt > 42, 'host :3 is new');
  old.retire();
  next.retire();
});
