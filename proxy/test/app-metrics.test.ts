/**
 * Istio's metrics merge on the agent port (15020): /stats/prometheus answers the proxy's
 * metrics, then the app's (ISTIO_PROMETHEUS_ANNOTATIONS); an app that fails, is down or is
 * slow never fails the scrape. Over real sockets, with a fake app metrics server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { parseProxyArgs, startProxy } from '../src/main.js';
import { parseAppMetricsTarget, type AppMetricsTarget } from '../src/admin/app-metrics.js';
import { buildBootstrap, request, route, tempDir, writeBootstrap, type TestLike } from './helpers/harness.js';

const APP_METRICS = '# HELP app_orders_total Orders taken.\n# TYPE app_orders_total counter\napp_orders_total 42\n';

/** /metrics and /custom answer the app's metrics, /broken a 500, /slow after 5 s. */
async function startApp(t: TestLike): Promise<{ port: number; seen: { url: string; accept: string | undefined }[] }> {
  const seen: { url: string; accept: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', accept: req.headers.accept });
    if (req.url === '/broken') return void res.writeHead(500).end('boom');
    if (req.url === '/slow') return void setTimeout(() => res.end(APP_METRICS), 5000).unref();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(APP_METRICS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

async function startAgent(t: TestLike, appMetrics: AppMetricsTarget | undefined, backendPort: number): Promise<number> {
  const file = writeBootstrap(tempDir(), buildBootstrap({ routes: [route('/', 'backend')], clusters: { backend: [backendPort] } }, undefined));
  const running = await startProxy({ bootstrap: file, healthPort: undefined, healthAddress: '127.0.0.1', agentPort: 0, appMetrics, podIp: '127.0.0.1', drainTimeMs: 100 });
  t.teardown(() => running.stop());
  return running.agentPort!;
}

const own = /envoy_cluster_\w+\{[^}]*envoy_cluster_name="backend"/;

t.test("the agent port's /stats/prometheus: the proxy's metrics, then the app's", async (t) => {
  const app = await startApp(t);
  const agent = await startAgent(t, { port: app.port, path: '/custom' }, app.port);
  const r = await request(agent, { path: '/stats/prometheus' });
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^text\/plain/, 'still text');
  t.match(r.body, own, "the proxy's own metrics");
  t.ok(r.body.endsWith(APP_METRICS), "the app's metrics appended, as the app served them");
  t.ok(r.body.search(own) < r.body.indexOf('app_orders_total'), "the proxy's part first");
  t.same(app.seen.map((s) => s.url), ['/custom'], 'the path from ISTIO_PROMETHEUS_ANNOTATIONS');
  t.match(app.seen[0].accept, /text\/plain/, "the app is asked for Prometheus' text format");
});

t.test("a failing, absent or slow app: the proxy's part alone, never an error", async (t) => {
  const app = await startApp(t);
  const closed = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  for (const [what, target, maxMs] of [
    ['app answers 500', { port: app.port, path: '/broken' }, 1500],
    ['nothing listens on the app port', { port: closed, path: '/metrics' }, 1500],
    ['app slower than 2 s', { port: app.port, path: '/slow' }, 3500],
  ] as const) {
    const agent = await startAgent(t, target, app.port);
    const start = Date.now();
    const r = await request(agent, { path: '/stats/prometheus' });
    const took = Date.now() - start;
    t.equal(r.status, 200, `${what}: 200`);
    t.match(r.body, own, `${what}: the proxy's metrics`);
    t.notMatch(r.body, /app_orders_total|boom/, `${what}: nothing of the app`);
    t.ok(took < maxMs, `${what}: answered in ${took} ms`);
  }
});

t.test('ISTIO_PROMETHEUS_ANNOTATIONS: parsed once, as the injector writes it', async (t) => {
  t.same(parseAppMetricsTarget('{"scrape":"true","path":"/m","port":"9102"}'), { port: 9102, path: '/m' });
  t.same(parseAppMetricsTarget('{"scrape":"","path":"","port":"8080"}'), { port: 8080, path: '/metrics' }, "no path: Prometheus' /metrics");
  t.equal(parseAppMetricsTarget(undefined), undefined, 'unset: nothing to merge');
  t.equal(parseAppMetricsTarget('{"scrape":"true","path":"/m","port":""}'), undefined, 'no port: nothing to merge');
  t.equal(parseAppMetricsTarget('{"scrape":"false","port":"9102"}'), undefined, 'scrape "false"');
  t.equal(parseAppMetricsTarget('{not json'), undefined, 'malformed: logged and ignored');
  t.equal(parseAppMetricsTarget('{"port":"http"}'), undefined, 'a port that is not a number: logged and ignored');
  process.env.ISTIO_PROMETHEUS_ANNOTATIONS = '{"scrape":"true","path":"/m","port":"9102"}';
  t.teardown(() => delete process.env.ISTIO_PROMETHEUS_ANNOTATIONS);
  const o = parseProxyArgs(['--xds', 'h:1']);
  t.same(o !== 'help' && o.xds?.appMetrics, { port: 9102, path: '/m' }, 'the CLI reads it for the agent port');
  const off = parseProxyArgs(['--xds', 'h:1', '--agent-port', 'off']);
  t.equal(off !== 'help' && off.xds?.appMetrics, undefined, 'no agent port: not read');
});
