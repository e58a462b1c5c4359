/** The admin API and the health endpoint. */
import t from 'tap';
import { request, route, startTestProxy, startUpstream } from './helpers/harness.js';

t.test('admin API: /ready, /stats, /stats/prometheus, /clusters, /config_dump; health /healthz/ready', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'backend')], clusters: { backend: [up.port] }, health: true, accessLog: false });
  for (let i = 0; i < 3; i++) t.equal((await p.request()).status, 200);

  const ready = await request(p.adminPort, { path: '/ready' });
  t.equal(ready.status, 200);
  t.equal(ready.body, 'LIVE\n');

  const stats = await request(p.adminPort, { path: '/stats' });
  t.match(stats.body, /^cluster\.backend\.upstream_rq_total: 3$/m);
  t.match(stats.body, /^cluster\.backend\.upstream_rq_2xx: 3$/m);
  t.match(stats.body, /^http\.test\.downstream_rq_total: 3$/m);
  t.match(stats.body, /^server\.live: 1$/m);
  const filtered = await request(p.adminPort, { path: '/stats?filter=upstream_rq_total' });
  t.equal(filtered.body, 'cluster.backend.upstream_rq_total: 3\n');

  const prom = await request(p.adminPort, { path: '/stats/prometheus' });
  t.match(prom.body, /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="backend"\} 3$/m);
  t.match(prom.body, /^envoy_cluster_upstream_rq_xx\{envoy_response_code_class="2",envoy_cluster_name="backend"\} 3$/m);
  t.match(prom.body, /^# TYPE envoy_cluster_upstream_rq_total counter$/m);

  const clusters = await request(p.adminPort, { path: '/clusters' });
  t.match(clusters.body, new RegExp(`^backend::127\\.0\\.0\\.1:${up.port}::rq_total::3$`, 'm'));
  t.match(clusters.body, new RegExp(`^backend::127\\.0\\.0\\.1:${up.port}::health_flags::healthy$`, 'm'));

  const dump = JSON.parse((await request(p.adminPort, { path: '/config_dump' })).body) as { configs: { '@type': string; static_listeners?: { listener: { name: string } }[] }[] };
  const listeners = dump.configs.find((c) => c['@type'].endsWith('ListenersConfigDump'));
  t.same(listeners?.static_listeners?.map((l) => l.listener.name), ['listener_test']);

  const health = await request(p.healthPort!, { path: '/healthz/ready' });
  t.equal(health.status, 200);
  t.equal((await request(p.healthPort!, { path: '/other' })).status, 404);
  t.equal((await request(p.adminPort, { path: '/quitquitquit' })).status, 405, 'quitquitquit needs POST');
});

t.test('after drain starts: /ready says DRAINING (503) and /healthz/ready 503', async (t) => {
  const p = await startTestProxy(t, { routes: [], health: true, accessLog: false });
  const stopping = p.running.stop();
  const ready = await request(p.adminPort, { path: '/ready' }).catch(() => undefined);
  if (ready !== undefined) {
    t.equal(ready.status, 503);
    t.equal(ready.body, 'DRAINING\n');
  }
  await stopping;
  t.pass('stopped');
});

t.test('Prometheus endpoints outside the admin API (15090 and 15020 in a pod) serve /stats/prometheus', async (t) => {
  const { startProxy } = await import('../src/main.js');
  const { writeBootstrap, buildBootstrap, tempDir } = await import('./helpers/harness.js');
  const up = await startUpstream(t);
  const file = writeBootstrap(tempDir(), buildBootstrap({ routes: [route('/', 'backend')], clusters: { backend: [up.port] } }, undefined));
  const running = await startProxy({ bootstrap: file, healthPort: undefined, healthAddress: '127.0.0.1', prometheusPorts: [0, 0], drainTimeMs: 100 });
  t.teardown(() => running.stop());
  t.equal(running.prometheusPorts.length, 2, 'two endpoints');
  const port = running.proxy.listeners.values().next().value!.port;
  t.equal((await request(port, { path: '/' })).status, 200);
  for (const p of running.prometheusPorts) {
    const r = await request(p, { path: '/stats/prometheus' });
    t.equal(r.status, 200);
    t.match(r.body, /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="backend"\} 1$/m);
    t.equal((await request(p, { path: '/config_dump' })).status, 404, 'nothing else of the admin API');
  }
});
