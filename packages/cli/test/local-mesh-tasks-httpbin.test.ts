/**
 * The httpbin traffic tasks of examples/tasks/ end to end, on their own YAML (the examples'
 * k8s/ and steps/ files; only the app ports are the test's free ones): a control plane in local
 * mode, sidecars (and the ingress gateway) in xDS mode on 127.0.0.164-169, the httpbin stand-in
 * (examples/tasks/httpbin/httpbin.js) and the fortio-like load client as real processes.
 *   - circuit breaking: one connection in series is always served; three concurrent ones
 *     overflow (503, flag UO in the client sidecar's access log, upstream_rq_pending_overflow);
 *   - mirroring: with the mirror, v1 serves every request and v2 gets a copy of each with the
 *     Host suffixed `-shadow`; without it, no copies;
 *   - ingress: the gateway routes /status for httpbin.example.com to httpbin, 404 for other
 *     paths and hosts; the browser step (hosts "*") routes /headers for any Host.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '@minimesh/proxy/log';
import { httpGet, startLocalMesh, until } from './helpers/local-mesh.js';
import { freePort, runLoad, startHttpbin, taskFile, withPort } from './helpers/httpbin-tasks.js';

log.level = 'warn';
const CB = { httpbin: '127.0.0.164', fortio: '127.0.0.165' };
const MIRROR = { v1: '127.0.0.166', v2: '127.0.0.167', sleep: '127.0.0.168' };
const INGRESS = { gateway: '127.0.0.169', httpbin: '127.0.0.164' };

async function stat(ip: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${ip}:15000/stats`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
  return line === undefined ? 0 : Number(line.slice(name.length + 2));
}

const HTTPBIN_CLUSTER = 'outbound|8000||httpbin.default.svc.cluster.local';

t.test('circuit breaking: serial load is served, concurrent load overflows with 503 UO', async (t) => {
  const app = await startHttpbin(t, 'httpbin');
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-cb-'));
  t.teardown(() => fs.rmSync(logDir, { recursive: true, force: true }));
  const accessLog = path.join(logDir, 'access.log');
  const meshConfigFile = path.join(logDir, 'mesh.yaml');
  fs.writeFileSync(meshConfigFile, `accessLogFile: ${accessLog}\n`);
  const files = {
    'namespace.yaml': taskFile('circuit-breaking/k8s/namespace.yaml'),
    'httpbin.yaml': withPort(taskFile('circuit-breaking/k8s/httpbin.yaml'), 8080, app.port),
    'fortio.yaml': taskFile('circuit-breaking/k8s/fortio.yaml'),
    'destination-rule.yaml': taskFile('circuit-breaking/k8s/destination-rule.yaml'),
  };
  const mesh = await startLocalMesh(t, files, { cp: { meshConfigFile } });
  await mesh.sidecar({ ip: CB.httpbin, name: 'httpbin', namespace: 'default', labels: { app: 'httpbin', version: 'v1' } });
  await mesh.sidecar({ ip: CB.fortio, name: 'fortio-deploy', namespace: 'default', labels: { app: 'fortio' } });
  const proxy = `${CB.fortio}:15001`;
  const url = 'http://httpbin:8000/get';
  await until('httpbin answers through the fortio sidecar', async () => (await httpGet(CB.fortio, 15001, url, { host: 'httpbin:8000' })).status === 200, 20000);

  const serial = await runLoad(['load', '-c', '1', '-qps', '0', '-n', '10', '-proxy', proxy, url]);
  t.same([...serial.codes], [[200, 10]], `one connection in series: every request served\n${serial.out}`);
  t.match(serial.out, /^Code 200 : 10 \(100\.0 %\)$/m, "fortio's summary line");
  t.equal(await stat(CB.fortio, `cluster.${HTTPBIN_CLUSTER}.upstream_rq_pending_overflow`), 0, 'no overflow yet');

  // Three connections at once against one connection and one pending slot: some overflow (a
  // loaded machine may serialise a run by chance; up to three runs).
  let run = await runLoad(['load', '-c', '3', '-qps', '0', '-n', '30', '-proxy', proxy, url]);
  let total503 = run.codes.get(503) ?? 0;
  for (let i = 0; i < 2 && !run.codes.has(503); i++) {
    run = await runLoad(['load', '-c', '3', '-qps', '0', '-n', '30', '-proxy', proxy, url]);
    total503 += run.codes.get(503) ?? 0;
  }
  const c503 = run.codes.get(503) ?? 0;
  t.ok(c503 > 0, `3 connections x 30 requests: some 503 (${c503})\n${run.out}`);
  t.ok((run.codes.get(200) ?? 0) > 0, 'and some served');
  t.same([...run.codes.keys()].sort(), [200, 503], 'every answer that is not 200 is a 503');
  t.match(run.out, /^Code 503 : \d+ \(\d+\.\d %\)$/m, "fortio's summary line for 503");
  const overflow = await stat(CB.fortio, `cluster.${HTTPBIN_CLUSTER}.upstream_rq_pending_overflow`);
  t.equal(overflow, total503, `the client sidecar counted each overflow: upstream_rq_pending_overflow ${overflow}`);

  // The client sidecar's access log: each 503 to httpbin carries UO (upstream overflow).
  const clientLines = (): string[] => (fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'utf8').split('\n') : []).filter((l) => l.includes(`"httpbin:8000"`) && l.includes(` ${HTTPBIN_CLUSTER} `) && l.includes(`${CB.fortio}:15001`));
  const lines = await until('the 503s in the access log', async () => {
    const l = clientLines().filter((x) => / 503 /.test(x));
    return l.length >= total503 ? l : undefined;
  }, 10000);
  t.ok(lines.length > 0 && lines.every((l) => / 503 UO /.test(l)), `every 503 has the UO flag (${lines.length} lines), e.g. ${lines[0]}`);
  t.equal(clientLines().filter((l) => / 5\d\d /.test(l) && !/ 503 UO /.test(l)).length, 0, 'no other 5xx (outlier detection ejected nothing)');
});

t.test('mirroring: v1 serves, v2 gets a -shadow copy of each request; none once the mirror is removed', async (t) => {
  const v1 = await startHttpbin(t, 'httpbin-v1');
  const v2 = await startHttpbin(t, 'httpbin-v2');
  const httpbin = taskFile('mirroring/k8s/httpbin.yaml').replace('containerPort: 8080', `containerPort: ${v1.port}`).replace('containerPort: 8081', `containerPort: ${v2.port}`);
  const mesh = await startLocalMesh(t, { 'namespace.yaml': taskFile('mirroring/k8s/namespace.yaml'), 'httpbin.yaml': httpbin, 'sleep.yaml': taskFile('mirroring/k8s/sleep.yaml'), 'httpbin-routing.yaml': taskFile('mirroring/steps/1-all-to-v1.yaml') });
  await mesh.sidecar({ ip: MIRROR.v1, name: 'httpbin-v1', namespace: 'default', labels: { app: 'httpbin', version: 'v1' } });
  await mesh.sidecar({ ip: MIRROR.v2, name: 'httpbin-v2', namespace: 'default', labels: { app: 'httpbin', version: 'v2' } });
  await mesh.sidecar({ ip: MIRROR.sleep, name: 'sleep', namespace: 'default', labels: { app: 'sleep' } });
  const get = (q: string) => httpGet(MIRROR.sleep, 15001, `http://httpbin:8000/headers?${q}`, { host: 'httpbin:8000' });
  await until('httpbin v1 answers through the sleep sidecar', async () => (await get('warmup')).status === 200 && v1.requests().length > 0, 20000);
  const N = 5;

  // Step 1: everything to v1, nothing to v2.
  for (let i = 0; i < N; i++) t.equal((await get(`step1=${i}`)).status, 200);
  // The log lines come through the app's stdout pipe, maybe after the answer: wait for them.
  const logged = (app: typeof v1, mark: string) => until(`${mark} in the log`, async () => app.requests().filter((l) => l.includes(mark)).length >= N && app.requests().filter((l) => l.includes(mark)), 5000);
  t.equal((await logged(v1, 'step1=')).length, N, 'step 1: v1 served every request');
  t.equal(v2.requests().length, 0, 'step 1: v2 got nothing');

  // Step 2: the mirror.
  mesh.write('httpbin-routing.yaml', taskFile('mirroring/steps/2-mirror-to-v2.yaml'));
  await until('a copy reaches v2', async () => (await get('wait-mirror')).status === 200 && v2.requests().length > 0, 20000);
  for (let i = 0; i < N; i++) {
    const r = await get(`step2=${i}`);
    t.equal(r.status, 200, `request ${i} answered`);
    t.match(JSON.parse(r.body).headers.Host, 'httpbin:8000', 'v1 saw the Host as sent');
  }
  t.equal((await logged(v1, 'step2=')).length, N, 'step 2: v1 served each request once');
  const copies = await logged(v2, 'step2=');
  t.equal(copies.length, N, 'step 2: v2 received one copy of each');
  t.ok(copies.every((l) => / host=httpbin-shadow:8000$/.test(l)), `the copies' Host ends -shadow (before the port): ${copies[0]}`);
  t.equal(v1.requests().filter((l) => l.includes('-shadow')).length, 0, 'v1 never saw a shadow Host');

  // The mirror removed (step 1 again): no copies. A marker sent after the mirror is back shows
  // that v2 has had time to receive any copy sent in between.
  mesh.write('httpbin-routing.yaml', taskFile('mirroring/steps/1-all-to-v1.yaml'));
  const mirrorConfigured = async () => (await (await fetch(`http://${MIRROR.sleep}:15000/config_dump`)).text()).includes('request_mirror_policies');
  await until('the mirror is gone from the sleep sidecar', async () => !(await mirrorConfigured()), 20000);
  for (let i = 0; i < N; i++) t.equal((await get(`step3=${i}`)).status, 200);
  mesh.write('httpbin-routing.yaml', taskFile('mirroring/steps/2-mirror-to-v2.yaml'));
  await until('the marker copy reaches v2', async () => (await get('marker')).status === 200 && v2.requests().some((l) => l.includes('marker')), 20000);
  t.equal(v2.requests().filter((l) => l.includes('step3=')).length, 0, 'without the mirror v2 got no copies');
  t.equal((await logged(v1, 'step3=')).length, N, 'and v1 served them all');
});

t.test('ingress: the gateway routes /status of httpbin.example.com to httpbin, 404 otherwise; then any host to /headers', async (t) => {
  const app = await startHttpbin(t, 'httpbin');
  const gwPort = await freePort(INGRESS.gateway);
  const mesh = await startLocalMesh(t, {
    'ingress-gateway.yaml': withPort(taskFile('ingress/k8s/ingress-gateway.yaml'), 8080, gwPort),
    'httpbin.yaml': withPort(taskFile('ingress/k8s/httpbin.yaml'), 8080, app.port),
    'httpbin-gateway.yaml': taskFile('ingress/steps/1-httpbin-gateway.yaml'),
  });
  await mesh.sidecar({ ip: INGRESS.httpbin, name: 'httpbin', namespace: 'default', labels: { app: 'httpbin', version: 'v1' } });
  await mesh.sidecar(
    { ip: INGRESS.gateway, name: 'istio-ingressgateway', namespace: 'istio-system' },
    { node: { id: `router~${INGRESS.gateway}~istio-ingressgateway-local-00001.istio-system~istio-system.svc.cluster.local`, cluster: 'istio-ingressgateway.istio-system', metadata: { LABELS: { istio: 'ingressgateway', app: 'istio-ingressgateway' } } } },
  );
  const get = (p: string, host = 'httpbin.example.com') => httpGet(INGRESS.gateway, gwPort, p, { host });
  await until('the gateway routes to httpbin', async () => (await get('/status/200')).status === 200, 20000);
  const ok = await get('/status/200');
  t.equal(ok.status, 200, '/status/200 with Host httpbin.example.com: 200');
  t.equal(ok.headers.server, 'istio-envoy', "the gateway's server header, as the task shows");
  t.equal((await get('/status/418')).status, 418, "httpbin's answer is passed on");
  const seen = await until('httpbin logs the requests', async () => app.requests().filter((l) => l.includes('/status/200') && l.includes('host=httpbin.example.com')).length >= 2, 5000).catch(() => false);
  t.ok(seen, 'httpbin saw the requests with their Host');
  const headers = await get('/headers');
  t.equal(headers.status, 404, '/headers is not routed: 404');
  t.equal(app.requests().filter((l) => l.includes('/headers')).length, 0, 'and never reached httpbin');
  t.equal((await get('/status/200', 'other.example.com')).status, 404, 'another Host: 404');
  const delayed = await get('/delay/1');
  t.equal(delayed.status, 200, '/delay is routed');
  t.ok(delayed.ms >= 950, `and httpbin waited (${delayed.ms.toFixed(0)} ms)`);

  // The task's browser step: any host, /headers routed (and only /headers).
  mesh.write('httpbin-gateway.yaml', taskFile('ingress/steps/2-browser.yaml'));
  const browser = `${INGRESS.gateway}:${gwPort}`;
  await until('/headers is routed for any host', async () => (await get('/headers', browser)).status === 200, 20000);
  const h = await get('/headers', browser);
  t.equal(JSON.parse(h.body).headers.Host, browser, 'the browser step: /headers answers, with the Host a browser sends');
  t.equal((await get('/status/200', browser)).status, 404, 'and /status is no longer routed');
});
