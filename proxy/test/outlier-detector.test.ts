/**
 * The outlier detector's arithmetic, on a fake clock: thresholds, enforcing percentages, the
 * ejected share, the ejection time (base × back-off, capped), back-off earned back, and state
 * kept across a config that replaces the cluster.
 */
import t from 'tap';
import type { OutlierDetectionRt } from '@minimesh/config';
import { OutlierDetector, OutlierStats } from '../src/upstream/outlier-detector.js';
import type { UpstreamHost } from '../src/upstream/upstream-host.js';

const BASE: OutlierDetectionRt = {
  consecutive5xx: 3,
  enforcing5xx: 100,
  consecutiveGatewayFailure: 5,
  enforcingGatewayFailure: 0,
  splitLocalOrigin: false,
  consecutiveLocalOriginFailure: 5,
  enforcingLocalOriginFailure: 100,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  alwaysEjectOneHost: false,
};

function setup(config: Partial<OutlierDetectionRt> = {}, n = 2, random = 0) {
  const hosts = Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i}:80` }) as UpstreamHost);
  const clock = { now: 0 };
  let changes = 0;
  const stats = new OutlierStats();
  const d = new OutlierDetector({ ...BASE, ...config }, hosts, stats, () => changes++, () => clock.now, () => random);
  t.teardown(() => d.stop());
  return { d, hosts, clock, stats, changes: () => changes };
}

t.test('3 consecutive 5xx eject; a success in between starts the count over', async (t) => {
  const { d, hosts, stats, changes } = setup();
  const [a] = hosts;
  d.putHttpStatus(a, 500);
  d.putHttpStatus(a, 500);
  d.putHttpStatus(a, 200);
  d.putHttpStatus(a, 500);
  d.putHttpStatus(a, 503);
  t.notOk(d.isEjected(a), 'two in a row so far');
  d.putHttpStatus(a, 502);
  t.ok(d.isEjected(a));
  t.equal(changes(), 1, 'the cluster was told');
  t.same({ ...stats }, { ...new OutlierStats(), ejections_active: 1, ejections_enforced_total: 1, ejections_enforced_consecutive_5xx: 1, ejections_detected_consecutive_5xx: 1 });
});

t.test('ejection time: base × back-off, checked at each interval; back-off earned back', async (t) => {
  const { d, hosts, clock, stats } = setup();
  const [a] = hosts;
  const fail = (): void => [1, 2, 3].forEach(() => d.putHttpStatus(a, 500));
  fail();
  clock.now = 29_999;
  d.tick();
  t.ok(d.isEjected(a), 'still out before 30 s');
  clock.now = 30_000;
  d.tick();
  t.notOk(d.isEjected(a), 'back after base_ejection_time');
  t.equal(stats.ejections_active, 0);
  clock.now = 31_000;
  fail();
  t.equal(d.state(a)!.backoff, 2, 'second ejection: twice the time');
  clock.now = 90_999;
  d.tick();
  t.ok(d.isEjected(a), '60 s this time');
  clock.now = 91_000;
  d.tick();
  t.notOk(d.isEjected(a));
  clock.now = 121_000;
  d.tick();
  t.equal(d.state(a)!.backoff, 1, 'a base ejection time in good standing earns one back');
  t.equal(d.state(a)!.numEjections, 2);
});

t.test('the back-off stops growing at max_ejection_time', async (t) => {
  const { d, hosts, clock } = setup({ baseEjectionTimeMs: 100, maxEjectionTimeMs: 250, intervalMs: 10 });
  const [a] = hosts;
  for (let i = 0; i < 6; i++) {
    [1, 2, 3].forEach(() => d.putHttpStatus(a, 500));
    clock.now += 1000;
    d.tick();
  }
  t.equal(d.state(a)!.backoff, 3, 'base × 3 = 300 ≥ 250: no further');
  [1, 2, 3].forEach(() => d.putHttpStatus(a, 500));
  const at = clock.now;
  clock.now = at + 249;
  d.tick();
  t.ok(d.isEjected(a), 'capped at max_ejection_time (250 ms), not 300');
  clock.now = at + 250;
  d.tick();
  t.notOk(d.isEjected(a));
});

t.test('max_ejection_percent bounds the ejected share (overflow counted); always_eject_one_host', async (t) => {
  const s1 = setup({ maxEjectionPercent: 10 });
  [1, 2, 3].forEach(() => s1.d.putHttpStatus(s1.hosts[0], 500));
  t.notOk(s1.d.isEjected(s1.hosts[0]), '1 of 2 is 50 % > 10 %');
  t.equal(s1.stats.ejections_overflow, 1);
  t.equal(s1.stats.ejections_detected_consecutive_5xx, 1, 'detected all the same');
  const s2 = setup({ maxEjectionPercent: 10, alwaysEjectOneHost: true });
  [1, 2, 3].forEach(() => s2.d.putHttpStatus(s2.hosts[0], 500));
  [1, 2, 3].forEach(() => s2.d.putHttpStatus(s2.hosts[1], 500));
  t.ok(s2.d.isEjected(s2.hosts[0]), 'one host whatever the share');
  t.notOk(s2.d.isEjected(s2.hosts[1]), 'but only one');
});

t.test('enforcing: gateway failures are detected but not enforced by default; 0 % never ejects', async (t) => {
  const { d, hosts, stats } = setup({ consecutive5xx: 100, consecutiveGatewayFailure: 2 });
  d.putHttpStatus(hosts[0], 503);
  d.putHttpStatus(hosts[0], 504);
  t.equal(stats.ejections_detected_consecutive_gateway_failure, 1);
  t.notOk(d.isEjected(hosts[0]), 'enforcing_consecutive_gateway_failure is 0 by default');
  const on = setup({ consecutive5xx: 100, consecutiveGatewayFailure: 2, enforcingGatewayFailure: 100 });
  on.d.putHttpStatus(on.hosts[0], 500);
  on.d.putHttpStatus(on.hosts[0], 503);
  t.notOk(on.d.isEjected(on.hosts[0]), 'a 500 is not a gateway error: the count restarts');
  on.d.putHttpStatus(on.hosts[0], 503);
  t.ok(on.d.isEjected(on.hosts[0]));
  t.equal(on.stats.ejections_enforced_consecutive_gateway_failure, 1);
  const h = setup({ enforcing5xx: 50 }, 2, 0.7);
  [1, 2, 3].forEach(() => h.d.putHttpStatus(h.hosts[0], 500));
  t.notOk(h.d.isEjected(h.hosts[0]), 'a roll of 70 misses 50 %');
});

t.test('local-origin failures: 503/504 unless split; split counts them apart and a connection resets them', async (t) => {
  const { d, hosts } = setup();
  d.putLocalOrigin(hosts[0], 'connect-failed');
  d.putLocalOrigin(hosts[0], 'timeout');
  d.putLocalOrigin(hosts[0], 'connect-failed');
  t.ok(d.isEjected(hosts[0]), 'three local failures are three 5xx');
  const s = setup({ splitLocalOrigin: true, consecutiveLocalOriginFailure: 2 });
  const [a] = s.hosts;
  s.d.putLocalOrigin(a, 'connect-failed');
  s.d.putConnectSuccess(a, false);
  s.d.putLocalOrigin(a, 'connect-failed');
  t.notOk(s.d.isEjected(a), 'a connection in between');
  [500, 500].forEach((c) => s.d.putHttpStatus(a, c));
  t.notOk(s.d.isEjected(a), 'two 5xx of three');
  s.d.putLocalOrigin(a, 'timeout');
  t.ok(s.d.isEjected(a));
  t.equal(s.stats.ejections_enforced_consecutive_local_origin_failure, 1);
});

t.test('a new config keeps the state of hosts that stay (by address)', async (t) => {
  const old = setup();
  [1, 2, 3].forEach(() => old.d.putHttpStatus(old.hosts[0], 500));
  const next = setup({}, 3);
  next.d.inherit(old.d);
  t.ok(next.d.isEjected(next.hosts[0]), 'same address, still ejected');
  t.equal(next.stats.ejections_active, 1);
  t.equal(next.changes(), 1, 'the new cluster leaves it out of balancing');
});
