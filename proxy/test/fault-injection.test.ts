/**
 * Envoy's fault filter (`envoy.filters.http.fault`), on a plain bootstrap: per-route and
 * filter-level settings, delays (DI) before the router's timers, aborts (FI) with HTTP and gRPC
 * statuses, percentages, the `x-envoy-fault-*` headers only where the config allows them,
 * header matching, `max_active_faults`, and a client that leaves during a delay.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { buildBootstrap, echo, rawClient, route, sleep, startTestProxy, startUpstream, type ProxySpec } from './helpers/harness.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';

const FAULT = 'envoy.filters.http.fault';
const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

type Json = Record<string, unknown>;
const pct = (numerator: number, denominator = 'HUNDRED'): Json => ({ numerator, denominator });
const abortWith = (http_status: number, p = pct(100)): Json => ({ abort: { http_status, percentage: p } });
const delayOf = (ms: number, p = pct(100)): Json => ({ delay: { fixed_delay: `${ms / 1000}s`, percentage: p } });

/** A route to cluster `c` with the fault as its `typed_per_filter_config`. */
function faultRoute(fault: Json, prefix = '/', action: Json = {}): Json {
  return route(prefix, 'c', action, { typed_per_filter_config: { [FAULT]: { '@type': FAULT_TYPE, ...fault } } });
}

function spec(port: number, routes: Json[], filterConfig?: Json): ProxySpec {
  const filter = filterConfig === undefined ? { name: FAULT } : { name: FAULT, typed_config: { '@type': FAULT_TYPE, ...filterConfig } };
  return { routes, clusters: { c: [port] }, hcm: { http_filters: [filter, ROUTER] } };
}

function stat(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

t.test('abort: the proxy answers, the upstream never sees the request', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute(abortWith(555))]));
  const r = await p.request({ path: '/x' });
  t.equal(r.status, 555);
  t.equal(r.body, 'fault filter abort');
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'FI');
  t.equal(line.response_code_details, 'fault_filter_abort');
  t.equal(up.requests.length, 0, 'not forwarded');
  const text = p.running.proxy.stats.renderText();
  t.equal(stat(text, 'http.test.fault.aborts_injected'), 1);
  t.equal(stat(text, 'http.test.fault.active_faults'), 0, 'released when the stream ends');
});

t.test('delay: held before the router, whose timeout starts after it; the body waits too', async (t) => {
  const up = await startUpstream(t, echo);
  // The route timeout (0.2 s) is shorter than the delay (0.4 s): Envoy's router starts its timer after the delay.
  const p = await startTestProxy(t, spec(up.port, [faultRoute(delayOf(400), '/', { timeout: '0.2s' })]));
  const start = performance.now();
  const r = await p.request({ method: 'POST', path: '/slow', body: 'held body' });
  const took = performance.now() - start;
  t.equal(r.status, 200);
  t.equal(r.body, 'held body', 'the body reached the upstream after the delay');
  t.ok(took >= 380, `delayed (${took.toFixed(0)} ms)`);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'DI');
  t.equal(stat(p.running.proxy.stats.renderText(), 'http.test.fault.delays_injected'), 1);
});

t.test('delay then abort: both flags', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute({ ...delayOf(100), ...abortWith(503) })]));
  const r = await p.request();
  t.equal(r.status, 503);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'DI,FI');
  t.equal(up.requests.length, 0);
});

t.test('percentages: 0 never, 100 % always, 50 % about half (and TEN_THOUSAND denominators)', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute(abortWith(500, pct(0)), '/never'), faultRoute(abortWith(500, pct(5000, 'TEN_THOUSAND')), '/half')]));
  for (let i = 0; i < 20; i++) t.equal((await p.request({ path: '/never' })).status, 200);
  let aborted = 0;
  const n = 200;
  for (let i = 0; i < n; i++) if ((await p.request({ path: '/half' })).status === 500) aborted++;
  // Binomial(200, 0.5): a standard deviation of about 7; 60..140 is nearly 6 of them.
  t.ok(aborted > 60 && aborted < 140, `${aborted} of ${n} aborted`);
});

t.test('the filter-level config applies where a route has none; the route overrides it', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute(abortWith(418), '/teapot'), route('/', 'c')], abortWith(502)));
  t.equal((await p.request({ path: '/teapot' })).status, 418);
  t.equal((await p.request({ path: '/other' })).status, 502);
});

t.test('x-envoy-fault-* headers: honoured only with header_abort / header_delay', async (t) => {
  const up = await startUpstream(t);
  const headerAbort = { abort: { header_abort: {}, percentage: pct(100) } };
  const headerDelay = { delay: { header_delay: {}, percentage: pct(100) } };
  const p = await startTestProxy(t, spec(up.port, [faultRoute(headerAbort, '/ha'), faultRoute(headerDelay, '/hd'), faultRoute(abortWith(500, pct(0)), '/fixed')]));
  t.equal((await p.request({ path: '/ha', headers: { 'x-envoy-fault-abort-request': '429' } })).status, 429, 'the header picks the status');
  t.equal((await p.request({ path: '/ha' })).status, 200, 'no header: no abort');
  t.equal((await p.request({ path: '/ha', headers: { 'x-envoy-fault-abort-request': '700' } })).status, 200, 'a status outside [200, 600): ignored');
  t.equal((await p.request({ path: '/ha', headers: { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-request-percentage': '0' } })).status, 200, 'the percentage header lowers the percentage');
  t.equal((await p.request({ path: '/fixed', headers: { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-request-percentage': '100' } })).status, 200, 'no header_abort: the headers cannot inject a fault');
  const start = performance.now();
  t.equal((await p.request({ path: '/hd', headers: { 'x-envoy-fault-delay-request': '300' } })).status, 200);
  t.ok(performance.now() - start >= 280, 'delayed by the header');
});

t.test('headers, upstream_cluster and downstream_nodes narrow who gets the fault', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [
    faultRoute({ ...abortWith(500), headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] }, '/h'),
    faultRoute({ ...abortWith(500), upstream_cluster: 'other' }, '/u'),
    faultRoute({ ...abortWith(500), downstream_nodes: ['node-a'] }, '/n'),
  ]));
  t.equal((await p.request({ path: '/h', headers: { 'end-user': 'jason' } })).status, 500);
  t.equal((await p.request({ path: '/h', headers: { 'end-user': 'alice' } })).status, 200);
  t.equal((await p.request({ path: '/u' })).status, 200, 'the route goes to another cluster');
  t.equal((await p.request({ path: '/n', headers: { 'x-envoy-downstream-service-node': 'node-a' } })).status, 500);
  t.equal((await p.request({ path: '/n' })).status, 200);
});

t.test('max_active_faults: past it a request goes through unfaulted, counted as overflow', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute({ ...delayOf(500), max_active_faults: 1 })]));
  const first = p.request();
  await sleep(100);
  const start = performance.now();
  t.equal((await p.request()).status, 200);
  t.ok(performance.now() - start < 400, 'the second request was not delayed');
  t.equal((await first).status, 200);
  const text = p.running.proxy.stats.renderText();
  t.equal(stat(text, 'http.test.fault.faults_overflow'), 1);
  t.equal(stat(text, 'http.test.fault.delays_injected'), 1);
  t.equal(stat(text, 'http.test.fault.active_faults'), 0);
});

t.test('a client that leaves during a delay: nothing is forwarded, DI and DC logged', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute(delayOf(400))]));
  const c = await rawClient(t, p.port);
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  await sleep(100);
  c.socket.destroy();
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'DI,DC');
  await sleep(450);
  t.equal(up.requests.length, 0, 'the delay timer did not fire the request');
  t.equal(stat(p.running.proxy.stats.renderText(), 'http.test.fault.active_faults'), 0);
});

t.test('gRPC: an abort with grpc_status is a trailers-only 200; an HTTP abort maps to its gRPC status', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, spec(up.port, [faultRoute({ abort: { grpc_status: 14, percentage: pct(100) } }, '/svc.A/'), faultRoute(abortWith(503), '/svc.B/')]));
  const s = h2Connect(t, p.port);
  const grpcHeaders = { 'content-type': 'application/grpc', te: 'trailers' };
  const a = await h2Request(s, { method: 'POST', path: '/svc.A/Call', headers: grpcHeaders, body: Buffer.alloc(5) });
  t.equal(a.status, 200);
  t.equal(a.headers['grpc-status'], '14');
  t.equal(a.headers['grpc-message'], 'fault filter abort');
  const b = await h2Request(s, { method: 'POST', path: '/svc.B/Call', headers: grpcHeaders, body: Buffer.alloc(5) });
  t.equal(b.status, 200);
  t.equal(b.headers['grpc-status'], '14', '503 -> UNAVAILABLE');
  t.equal(up.requests.length, 0);
});

t.test('bad fault config: each error names its field', async (t) => {
  const compileSpec = (s: ProxySpec): string[] => {
    const parsed = parseBootstrap(JSON.stringify(buildBootstrap(s, undefined)), 'b.yaml');
    if (!parsed.ok) return parsed.errors.map((e) => JSON.stringify(e));
    const r = compileBootstrap(parsed.value);
    return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
  };
  const compile = (fault: Json): string[] => compileSpec(spec(1, [faultRoute(fault)]));
  t.match(compile({ abort: { http_status: 700, percentage: pct(100) } }).join('\n'), /typed_per_filter_config\.envoy\.filters\.http\.fault\.abort\.http_status: must be in \[200, 600\)/);
  t.match(compile({ abort: { percentage: pct(100) } }).join('\n'), /abort: one of http_status, grpc_status or header_abort is required/);
  t.match(compile({ delay: { percentage: pct(100) } }).join('\n'), /delay: one of fixed_delay or header_delay is required/);
  const other = compileSpec({ routes: [route('/', 'c', {}, { typed_per_filter_config: { 'envoy.filters.http.compressor': { '@type': FAULT_TYPE } } })], clusters: { c: [1] } });
  t.match(other.join('\n'), /envoy\.filters\.http\.compressor: per-route config is supported for envoy\.filters\.http\.fault, envoy\.filters\.http\.cors only/);
  t.same(compile(abortWith(503)), [], 'a good one compiles');
});
