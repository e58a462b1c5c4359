import t from 'tap';
import { parseNodeIdForTest, fleetNodeId } from '../src/xds-fleet.js';
import { formatTable, runOne, TARGET_MS } from '../src/xds-run.js';
import { platformYaml, reviewsVsYaml } from '../src/xds-config.js';

t.test('fleet node ids are Istio sidecar ids with distinct loopback IPs', async (t) => {
  const ids = Array.from({ length: 1000 }, (_, i) => fleetNodeId(i));
  t.equal(new Set(ids).size, 1000);
  t.equal(ids[0], 'sidecar~127.1.0.2~client-0.default~default.svc.cluster.local');
  t.same(ids.filter((id) => !parseNodeIdForTest(id)), [], 'every id parses');
});

t.test('the config flips reviews from v1 to v2', async (t) => {
  t.match(reviewsVsYaml(100), /subset: v1 }\n      weight: 100\n.*subset: v2 }\n      weight: 0/s);
  t.match(reviewsVsYaml(0), /subset: v1 }\n      weight: 0\n.*subset: v2 }\n      weight: 100/s);
  t.match(platformYaml(), /kind: DestinationRule/);
});

t.test('10 simulated proxies converge on a VirtualService change', async (t) => {
  const lines: string[] = [];
  const run = await runOne(10, { proxies: [10], timeoutMs: 10_000 }, (l) => lines.push(l));
  t.equal(run.error, null, lines.join('\n'));
  t.equal(run.converged, 10);
  t.same(run.newVersions.length, 1, 'every proxy got the same new RDS version');
  t.same(Object.keys(run.responsesAfterChange), ['RDS'], 'only routes changed');
  for (const k of ['p50', 'p99', 'max', 'firstPushMs', 'rescanMs'] as const) {
    t.type(run[k], 'number', k);
    t.ok(run[k]! > 0 && run[k]! < 10_000, `${k} = ${run[k]}`);
  }
  t.ok(run.p50! <= run.p99! && run.p99! <= run.max!);
  t.ok(run.firstPushMs! <= run.max!);
  t.ok(run.cpPeakRssKb! > 0);
  t.type(run.cpChangeCpuS, 'number');
  t.ok(lines.some((l) => l.includes('all 10 synced')));
  t.ok(lines.some((l) => l.includes('converged')));
  const table = formatTable([run]);
  t.match(table, /proxies/);
  t.match(table, run.max! <= TARGET_MS ? /✓/ : /✗/);
});
