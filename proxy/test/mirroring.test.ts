/**
 * Request mirroring (a route's `request_mirror_policies`): the copy reaches the shadow cluster
 * with `-shadow` on its Host (before the port), with its body; the main request never waits for,
 * nor depends on, the shadow (a hanging or refused shadow changes nothing); a body past the
 * buffer limit is not mirrored; fractions and the host-suffix switch; the shadow cluster's stats.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { buildBootstrap, closedPort, echo, hang, route, sleep, startTestProxy, startUpstream, type ProxySpec, type Upstream } from './helpers/harness.js';
import { shadowHost } from '../src/router/request-mirror.js';

type Json = Record<string, unknown>;
const mirrorTo = (cluster: string, extra: Json = {}): Json => ({ request_mirror_policies: [{ cluster, ...extra }] });
const fraction = (numerator: number, denominator = 'HUNDRED'): Json => ({ runtime_fraction: { default_value: { numerator, denominator } } });

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('not within time');
    await sleep(10);
  }
}

function stat(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[.|]/g, '\\$&')}: (\\d+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

t.test('shadowHost: -shadow before the port', async (t) => {
  t.equal(shadowHost('reviews'), 'reviews-shadow');
  t.equal(shadowHost('reviews.default.svc.cluster.local:9080'), 'reviews.default.svc.cluster.local-shadow:9080');
  t.equal(shadowHost('[::1]:80'), '[::1]-shadow:80');
});

t.test('the copy reaches the shadow with its body and a -shadow Host; the client sees only the main answer', async (t) => {
  const main = await startUpstream(t, echo);
  const shadow = await startUpstream(t, echo);
  const p = await startTestProxy(t, { routes: [route('/', 'main', mirrorTo('shadow'))], clusters: { main: [main.port], shadow: [shadow.port] } });
  const r = await p.request({ method: 'POST', path: '/orders?id=7', headers: { host: 'shop.example:8080' }, body: 'order body' });
  t.equal(r.status, 200);
  t.equal(r.body, 'order body');
  await until(() => shadow.requests.length === 1);
  const s = shadow.requests[0];
  t.equal(s.headers.host, 'shop.example-shadow:8080');
  t.equal(s.path, '/orders?id=7');
  t.equal(s.method, 'POST');
  t.equal(s.body.toString(), 'order body');
  t.equal(s.headers['x-request-id'], main.requests[0].headers['x-request-id'], 'the same request id');
  t.equal(main.requests[0].headers.host, 'shop.example:8080', 'the main request keeps its Host');
  await sleep(50);
  const text = p.running.proxy.stats.renderText();
  t.equal(stat(text, 'cluster.shadow.upstream_rq_total'), 1);
  t.equal(stat(text, 'cluster.shadow.upstream_rq_2xx'), 1);
  t.equal(stat(text, 'cluster.shadow.upstream_rq_active'), 0);
  const [line] = await p.accessLog(1);
  t.equal(line.upstream_cluster, 'main', 'the access log is the main request');
});

t.test('a shadow that hangs or refuses never delays nor fails the main request', async (t) => {
  const main = await startUpstream(t);
  const slow = await startUpstream(t, hang);
  const dead = await closedPort();
  const p = await startTestProxy(t, {
    routes: [route('/slow', 'main', { timeout: '0.3s', ...mirrorTo('slow') }), route('/dead', 'main', mirrorTo('dead'))],
    clusters: { main: [main.port], slow: [slow.port], dead: [dead] },
  });
  const start = performance.now();
  t.equal((await p.request({ path: '/slow' })).status, 200);
  t.ok(performance.now() - start < 250, 'answered before the shadow');
  t.equal((await p.request({ path: '/dead' })).status, 200);
  await until(() => slow.requests.length === 1);
  await sleep(400);
  const text = p.running.proxy.stats.renderText();
  t.equal(stat(text, 'cluster.slow.upstream_rq_timeout'), 1, 'the route timeout bounds the shadow');
  t.equal(stat(text, 'cluster.slow.upstream_rq_active'), 0);
  t.ok(slow.connections[0].closed, 'the timed-out shadow connection is closed');
  t.equal(stat(text, 'cluster.dead.upstream_rq_active'), 0);
});

t.test('a body past the buffer limit is not mirrored; the main request still gets it', async (t) => {
  const main = await startUpstream(t, echo);
  const shadow = await startUpstream(t);
  const p = await startTestProxy(t, {
    routes: [route('/', 'main', mirrorTo('shadow'))],
    clusters: { main: { endpoints: [main.port], extra: { per_connection_buffer_limit_bytes: 1024 } }, shadow: [shadow.port] },
  });
  const big = 'x'.repeat(4096);
  const r = await p.request({ method: 'POST', body: big });
  t.equal(r.body.length, big.length);
  t.equal((await p.request({ method: 'POST', body: 'small' })).status, 200);
  await until(() => shadow.requests.length === 1);
  await sleep(100);
  t.equal(shadow.requests.length, 1, 'only the small request was mirrored');
  t.equal(shadow.requests[0].body.toString(), 'small');
});

t.test('fractions, several mirrors, and disable_shadow_host_suffix_append', async (t) => {
  const main = await startUpstream(t);
  const ups: Record<string, Upstream> = {};
  for (const n of ['never', 'half', 'keep']) ups[n] = await startUpstream(t);
  const spec: ProxySpec = {
    routes: [
      route('/never', 'main', mirrorTo('never', fraction(0))),
      route('/half', 'main', mirrorTo('half', fraction(5000, 'TEN_THOUSAND'))),
      route('/two', 'main', { request_mirror_policies: [{ cluster: 'keep', disable_shadow_host_suffix_append: true }, { cluster: 'never' }] }),
    ],
    clusters: { main: [main.port], never: [ups.never.port], half: [ups.half.port], keep: [ups.keep.port] },
  };
  const p = await startTestProxy(t, spec);
  for (let i = 0; i < 10; i++) await p.request({ path: '/never' });
  const n = 200;
  for (let i = 0; i < n; i++) await p.request({ path: '/half' });
  await p.request({ path: '/two', headers: { host: 'svc:80' } });
  await until(() => ups.keep.requests.length === 1 && ups.never.requests.length === 1);
  await sleep(100);
  t.equal(ups.never.requests.length, 1, 'a 0 % mirror sends nothing (the one request is /two\'s)');
  t.equal(ups.never.requests[0].headers.host, 'svc-shadow:80');
  t.equal(ups.keep.requests[0].headers.host, 'svc:80', 'suffix disabled');
  const half = ups.half.requests.length;
  t.ok(half > 60 && half < 140, `${half} of ${n} mirrored at 50 %`);
});

t.test('config: the mirror cluster must exist; cluster_header is refused by name', async (t) => {
  const compile = (s: ProxySpec): string => {
    const parsed = parseBootstrap(JSON.stringify(buildBootstrap(s, undefined)), 'b.yaml');
    if (!parsed.ok) return JSON.stringify(parsed.errors);
    const r = compileBootstrap(parsed.value);
    return r.ok ? '' : r.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  };
  t.match(compile({ routes: [route('/', 'c', mirrorTo('nope'))], clusters: { c: [1] } }), /request_mirror_policies\[0\]\.cluster: unknown cluster "nope"/);
  t.match(compile({ routes: [route('/', 'c', { request_mirror_policies: [{ cluster_header: 'x-mirror' }] })], clusters: { c: [1] } }), /cluster_header is not supported/);
  t.equal(compile({ routes: [route('/', 'c', mirrorTo('c', fraction(10)))], clusters: { c: [1] } }), '');
});
