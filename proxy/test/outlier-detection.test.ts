/**
 * Outlier detection through the proxy, real sockets: a host answering 5xx is ejected and its
 * traffic goes to the others; /clusters and the admin JSON say `failed_outlier_check`; the host
 * comes back after the ejection time; a refused host is ejected too (local-origin failures);
 * the panic threshold decides what happens when every host is out (Envoy's 50 %: balance over
 * all; Istio's 0: 503 `no healthy upstream`).
 */
import t from 'tap';
import { closedPort, route, sleep, startTestProxy, startUpstream, type TestProxy, type UpHandler } from './helpers/harness.js';

type Json = Record<string, unknown>;
const fail500: UpHandler = (_req, res) => res.send(500, {}, 'boom');

function outlier(extra: Json = {}, panic?: number): Json {
  return {
    lb_policy: 'ROUND_ROBIN',
    outlier_detection: { consecutive_5xx: 3, interval: '0.1s', base_ejection_time: '0.6s', max_ejection_percent: 100, enforcing_success_rate: 0, ...extra },
    ...(panic !== undefined ? { common_lb_config: { healthy_panic_threshold: { value: panic } } } : {}),
  };
}

async function admin(p: TestProxy, path: string): Promise<string> {
  return (await fetch(`http://127.0.0.1:${p.adminPort}${path}`)).text();
}

t.test('a 5xx host is ejected, shows failed_outlier_check, and comes back after the ejection time', async (t) => {
  const bad = await startUpstream(t, fail500);
  const good = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [bad.port, good.port], extra: outlier() } } });
  const codes: number[] = [];
  for (let i = 0; i < 12; i++) codes.push((await p.request()).status);
  t.equal(codes.filter((c) => c === 500).length, 3, 'three 500s, then the bad host is out');
  t.same(codes.slice(-6), [200, 200, 200, 200, 200, 200]);
  const text = await admin(p, '/clusters');
  t.match(text, new RegExp(`c::127\\.0\\.0\\.1:${bad.port}::health_flags::/failed_outlier_check`));
  t.match(text, new RegExp(`c::127\\.0\\.0\\.1:${good.port}::health_flags::healthy`));
  const json = JSON.parse(await admin(p, '/clusters?format=json')) as { cluster_statuses: { host_statuses: { health_status: Json }[] }[] };
  t.same(json.cluster_statuses[0].host_statuses.map((h) => h.health_status.failed_outlier_check === true), [true, false]);
  const stats = await admin(p, '/stats');
  t.match(stats, /cluster\.c\.outlier_detection\.ejections_active: 1/);
  t.match(stats, /cluster\.c\.outlier_detection\.ejections_enforced_consecutive_5xx: 1/);
  t.match(await admin(p, '/stats/prometheus'), /envoy_cluster_outlier_detection_ejections_active\{envoy_cluster_name="c"\} 1/);

  await sleep(900);
  bad.handler = (_req, res) => res.send(200, {}, 'recovered');
  const after: string[] = [];
  for (let i = 0; i < 4; i++) after.push((await p.request()).body);
  t.ok(after.includes('recovered'), 'back in the balancer after base_ejection_time');
  t.match(await admin(p, '/stats'), /cluster\.c\.outlier_detection\.ejections_active: 0/);
});

t.test('connection failures count (local origin, as 503s) and eject a dead host', async (t) => {
  const dead = await closedPort();
  const good = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [dead, good.port], extra: outlier() } } });
  let failed = 0;
  for (let i = 0; i < 12; i++) if ((await p.request()).status === 503) failed++;
  t.equal(failed, 3, 'three refused connections, then none');
  t.match(await admin(p, '/clusters'), new RegExp(`::127\\.0\\.0\\.1:${dead}::health_flags::/failed_outlier_check`));
});

t.test('every host out: Envoy panics at 50 % (balances over all); Istio sets 0 (503 no healthy upstream)', async (t) => {
  const bad = await startUpstream(t, fail500);
  const envoy = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [bad.port], extra: outlier() } } });
  for (let i = 0; i < 5; i++) await envoy.request();
  t.equal((await envoy.request()).status, 500, 'panic: the ejected host still gets the request');
  t.match(await admin(envoy, '/stats'), /cluster\.c\.lb_healthy_panic: [1-9]/);
  t.equal(bad.requests.length, 6);

  const bad2 = await startUpstream(t, fail500);
  const istio = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [bad2.port], extra: outlier({}, 0) } } });
  for (let i = 0; i < 3; i++) await istio.request();
  const r = await istio.request();
  t.equal(r.status, 503);
  t.equal(r.body, 'no healthy upstream');
  t.equal(bad2.requests.length, 3, 'nothing reached the ejected host');
});

t.test('config: bad percentages are errors naming the field; success-rate left on is a warning', async (t) => {
  const up = await startUpstream(t);
  await t.rejects(startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: { outlier_detection: { max_ejection_percent: 150, enforcing_success_rate: 0 } } } } }), /outlier_detection\.max_ejection_percent: must be at most 100/);
  await t.rejects(startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: { common_lb_config: { healthy_panic_threshold: { value: 120 } } } } } }), /healthy_panic_threshold\.value: must be 0\.\.100/);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [up.port], extra: { outlier_detection: {} } } } });
  t.equal((await p.request()).status, 200, 'Envoy defaults (success rate not run) still serve');
});
