/** The agent port (15020 in a pod): /app-health/<container>/<probe> performs the app probes in ISTIO_KUBE_APP_PROBERS. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { parseProxyArgs, startProxy } from '../src/main.js';
import { parseAppProbers } from '../src/admin/app-probers.js';
import { buildBootstrap, request, route, tempDir, writeBootstrap, type TestLike } from './helpers/harness.js';

async function startApp(t: TestLike): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url === '/slow') return; // never answers
    const status = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 500;
    res.writeHead(status, status === 302 ? { location: '/elsewhere' } : {});
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, paths };
}

t.test('app probes: 2xx/3xx → 200, other statuses and timeouts → 503, unknown paths → 404; only on the agent port', async (t) => {
  const app = await startApp(t);
  const probers = parseAppProbers(
    JSON.stringify({
      '/app-health/hello/livez': { httpGet: { path: '/ok', port: app.port, scheme: 'HTTP' }, timeoutSeconds: 1 },
      '/app-health/hello/readyz': { httpGet: { path: '/bad', port: app.port } },
      '/app-health/hello/startupz': { httpGet: { path: '/moved', port: app.port } },
      '/app-health/slow/readyz': { httpGet: { path: '/slow', port: app.port }, timeoutSeconds: 1 },
      '/app-health/down/livez': { httpGet: { path: '/ok', port: 1 } },
    }),
  );
  const file = writeBootstrap(tempDir(), buildBootstrap({ routes: [route('/', 'backend')], clusters: { backend: [app.port] } }, undefined));
  const running = await startProxy({ bootstrap: file, healthPort: undefined, healthAddress: '127.0.0.1', prometheusPorts: [0], agentPort: 0, appProbers: probers, drainTimeMs: 100 });
  t.teardown(() => running.stop());
  const agent = running.agentPort!;
  t.ok(agent > 0, 'agent port bound');

  t.equal((await request(agent, { path: '/app-health/hello/livez' })).status, 200, 'app 200 → 200');
  const bad = await request(agent, { path: '/app-health/hello/readyz' });
  t.equal(bad.status, 503, 'app 500 → 503');
  t.match(bad.body, /500/, 'with the app status');
  t.equal((await request(agent, { path: '/app-health/hello/startupz' })).status, 200, 'app 302 → 200 (not followed)');
  t.equal((await request(agent, { path: '/app-health/slow/readyz' })).status, 503, 'timeoutSeconds honoured');
  t.equal((await request(agent, { path: '/app-health/down/livez' })).status, 503, 'connection refused → 503');
  t.equal((await request(agent, { path: '/app-health/nope/livez' })).status, 404, 'unknown container');
  t.equal((await request(agent, { path: '/other' })).status, 404, 'unknown path');
  t.same(app.paths.filter((p) => p !== '/slow'), ['/ok', '/bad', '/moved'], 'the original paths were probed');

  t.equal((await request(agent, { path: '/stats/prometheus' })).status, 200, '/stats/prometheus on the agent port');
  const prom = running.prometheusPorts[0];
  t.equal((await request(prom, { path: '/stats/prometheus' })).status, 200, '/stats/prometheus on the Prometheus port');
  t.equal((await request(prom, { path: '/app-health/hello/livez' })).status, 404, 'no /app-health on the Prometheus port (15090)');
});

t.test('ISTIO_KUBE_APP_PROBERS: parsed once; malformed values and unsupported entries ignored', async (t) => {
  t.equal(parseAppProbers(undefined).size, 0);
  t.equal(parseAppProbers('{not json').size, 0, 'not JSON: ignored');
  t.equal(parseAppProbers('[1]').size, 0, 'not an object: ignored');
  const m = parseAppProbers('{"/app-health/a/livez":{"httpGet":{"port":80}},"/app-health/a/readyz":{"tcpSocket":{"port":5432}},"/app-health/b/livez":{"httpGet":{"port":"http"}}}');
  t.same([...m.keys()], ['/app-health/a/livez'], 'tcpSocket and unresolved named ports left out');
});

t.test('the CLI: agent port 15020 with --xds, probers from ISTIO_KUBE_APP_PROBERS, probes to INSTANCE_IP', async (t) => {
  const saved = { p: process.env.ISTIO_KUBE_APP_PROBERS, ip: process.env.INSTANCE_IP };
  t.teardown(() => {
    for (const [k, v] of [['ISTIO_KUBE_APP_PROBERS', saved.p], ['INSTANCE_IP', saved.ip]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.ISTIO_KUBE_APP_PROBERS = '{"/app-health/hello/livez":{"httpGet":{"path":"/ping","port":80,"scheme":"HTTP"},"timeoutSeconds":1}}';
  process.env.INSTANCE_IP = '10.1.2.3';
  const o = parseProxyArgs(['--xds', 'h:1']);
  if (o === 'help') throw new Error('help');
  t.equal(o.xds?.agentPort, 15020);
  t.same(o.xds?.prometheusPorts, [15090]);
  t.equal(o.xds?.podIp, '10.1.2.3');
  t.same([...(o.xds?.appProbers ?? new Map()).entries()], [['/app-health/hello/livez', { httpGet: { path: '/ping', port: 80, scheme: 'HTTP' }, timeoutSeconds: 1 }]]);
  const old = parseProxyArgs(['--xds', 'h:1', '--prometheus-ports', '15090,15020']);
  t.same(old !== 'help' && [old.xds?.prometheusPorts, old.xds?.agentPort], [[15090], 15020], 'an old --prometheus-ports 15090,15020: 15020 is the agent port');
  const off = parseProxyArgs(['--xds', 'h:1', '--agent-port', 'off']);
  t.equal(off !== 'help' && off.xds?.agentPort, undefined, 'off');
  const boot = parseProxyArgs(['--bootstrap', 'b.yaml']);
  t.equal(boot !== 'help' && boot.agentPort, undefined, 'none by default with a bootstrap');
  t.throws(() => parseProxyArgs(['--xds', 'h:1', '--agent-port', 'x']), /--agent-port: not a port/);
});
