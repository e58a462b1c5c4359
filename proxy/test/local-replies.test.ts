/** The proxy's own replies and the response flags the access log records for them. */
import t from 'tap';
import { badStatusLine, blackhole, closeBeforeHeaders, closedPort, hang, rawClient, reset, route, sleep, startTestProxy, startUpstream, type UpHandler } from './helpers/harness.js';

interface Case {
  name: string;
  upstream?: UpHandler;
  /** Cluster endpoints: the upstream, none, or a closed port. */
  endpoints: 'upstream' | 'none' | 'closed';
  path?: string;
  status: number;
  body: RegExp | string;
  flags: string;
}

const cases: Case[] = [
  { name: 'no route: 404 NR', endpoints: 'upstream', path: '/unrouted', status: 404, body: '', flags: 'NR' },
  { name: 'cluster with no endpoints: 503 UH', endpoints: 'none', status: 503, body: 'no healthy upstream', flags: 'UH' },
  { name: 'connection refused: 503 UF', endpoints: 'closed', status: 503, body: /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/, flags: 'UF' },
  { name: 'upstream never answers: route timeout 504 UT', upstream: hang, endpoints: 'upstream', status: 504, body: 'upstream request timeout', flags: 'UT' },
  { name: 'upstream closes before headers: 503 UC', upstream: closeBeforeHeaders, endpoints: 'upstream', status: 503, body: /reset reason: connection termination/, flags: 'UC' },
  { name: 'upstream resets before headers: 503 UC', upstream: reset, endpoints: 'upstream', status: 503, body: /reset reason: connection termination/, flags: 'UC' },
  { name: 'upstream sends a bad status line: 502 UPE', upstream: badStatusLine, endpoints: 'upstream', status: 502, body: /protocol error/, flags: 'UPE' },
];

t.test('local replies: status, body, flag; no x-envoy-upstream-service-time', async (t) => {
  for (const c of cases) {
    const up = await startUpstream(t, c.upstream);
    const endpoints = c.endpoints === 'upstream' ? [up.port] : c.endpoints === 'closed' ? [await closedPort()] : [];
    const p = await startTestProxy(t, { routes: [route('/app', 'c', { timeout: '0.3s' })], clusters: { c: endpoints } });
    const r = await p.request({ path: c.path ?? '/app' });
    t.equal(r.status, c.status, `${c.name}: status`);
    if (typeof c.body === 'string') t.equal(r.body, c.body, `${c.name}: body`);
    else t.match(r.body, c.body, `${c.name}: body`);
    t.notOk('x-envoy-upstream-service-time' in r.headers, `${c.name}: no upstream service time`);
    const [line] = await p.accessLog(1);
    t.equal(line.response_flags, c.flags, `${c.name}: flag ${c.flags}`);
    t.equal(line.response_code, c.status, `${c.name}: logged status`);
  }
});

t.test('route timeout closes the upstream connection it abandons', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '0.2s' })], clusters: { c: [up.port] } });
  const r = await p.request();
  t.equal(r.status, 504);
  await sleep(50);
  t.ok(up.connections[0].closed, 'timed-out upstream connection closed, not reused');
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_timeout, 1);
});

t.test('downstream disconnects while waiting for the response: DC logged, upstream connection closed', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '5s' })], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('GET /slow HTTP/1.1\r\nhost: h\r\n\r\n');
  while (up.requests.length === 0) await sleep(5);
  c.socket.destroy();
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'DC');
  t.equal(line.path, '/slow');
  for (let i = 0; i < 100 && !up.connections[0].closed; i++) await sleep(10);
  t.ok(up.connections[0].closed, 'upstream connection closed');
});

t.test('downstream disconnects mid-body: DC logged, the upstream connection is closed', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('POST /upload HTTP/1.1\r\nhost: h\r\ncontent-length: 1000\r\n\r\n0123456789');
  while (up.connections.length === 0 || up.connections[0].data.length === 0) await sleep(5);
  c.socket.destroy();
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'DC');
  for (let i = 0; i < 100 && !up.connections[0].closed; i++) await sleep(10);
  t.ok(up.connections[0].closed, 'upstream connection closed');
  t.equal(up.requests.length, 0, 'no complete request reached the upstream');
});

t.test('route timeout while the upstream is still connecting: 504 UT, and the late connect failure is harmless', async (t) => {
  const port = await blackhole(t);
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { timeout: '0.1s' })],
    clusters: { c: { endpoints: [port], connect_timeout: '0.3s' } },
  });
  const r = await p.request();
  t.equal(r.status, 504);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'UT');
  await sleep(400); // past the connect timeout of the abandoned connection
  const again = await p.request();
  t.equal(again.status, 504, 'the proxy is still up and answering');
  await sleep(50);
  t.equal(p.running.proxy.stats.cluster('c').upstream_cx_active, 0, 'no connection left open');
});

t.test('client gone while the upstream is still connecting: DC, and nothing is sent later', async (t) => {
  const port = await blackhole(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '2s' })], clusters: { c: { endpoints: [port], connect_timeout: '0.3s' } } });
  const c = await rawClient(t, p.port);
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  await sleep(50);
  c.socket.destroy();
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'DC');
  await sleep(400);
  t.equal((await p.request({ path: '/' })).status, 503, 'the proxy still answers (connect timeout: 503 UF)');
});
