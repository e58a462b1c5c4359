/** Retries: each retry_on condition, num_retries, URX, per-try timeouts, body replay, host choice. */
import t from 'tap';
import { closeBeforeHeaders, closedPort, echo, failFirst, hang, ok, reset, route, startTestProxy, startUpstream, status, type UpHandler } from './helpers/harness.js';

interface Case {
  retryOn: string;
  failure: string;
  fail: UpHandler;
  retried: boolean;
  /** Status the client gets when not retried. */
  status?: number;
}

const cases: Case[] = [
  { retryOn: '5xx', failure: '503', fail: status(503), retried: true },
  { retryOn: '5xx', failure: '500', fail: status(500), retried: true },
  { retryOn: '5xx', failure: 'reset', fail: reset, retried: true },
  { retryOn: '5xx', failure: 'close before headers', fail: closeBeforeHeaders, retried: true },
  { retryOn: '5xx', failure: '404', fail: status(404), retried: false, status: 404 },
  { retryOn: 'gateway-error', failure: '502', fail: status(502), retried: true },
  { retryOn: 'gateway-error', failure: '503', fail: status(503), retried: true },
  { retryOn: 'gateway-error', failure: '504', fail: status(504), retried: true },
  { retryOn: 'gateway-error', failure: '500', fail: status(500), retried: false, status: 500 },
  { retryOn: 'reset', failure: 'reset', fail: reset, retried: true },
  { retryOn: 'reset', failure: 'close before headers', fail: closeBeforeHeaders, retried: true },
  { retryOn: 'reset', failure: '503', fail: status(503), retried: false, status: 503 },
  { retryOn: 'connect-failure', failure: '503', fail: status(503), retried: false, status: 503 },
  { retryOn: 'connect-failure', failure: 'reset', fail: reset, retried: false, status: 503 },
  { retryOn: 'retriable-4xx', failure: '409', fail: status(409), retried: true },
  { retryOn: 'retriable-4xx', failure: '404', fail: status(404), retried: false, status: 404 },
  { retryOn: 'retriable-status-codes', failure: '418', fail: status(418), retried: true },
  { retryOn: 'retriable-status-codes', failure: '503', fail: status(503), retried: false, status: 503 },
];

t.test('retry_on conditions against an upstream that fails the first try', async (t) => {
  for (const c of cases) {
    const up = await startUpstream(t, failFirst(1, c.fail, ok('second')));
    const p = await startTestProxy(t, {
      routes: [route('/', 'c', { retry_policy: { retry_on: c.retryOn, num_retries: 1, retriable_status_codes: [418] } })],
      clusters: { c: [up.port] },
      accessLog: false,
    });
    const r = await p.request();
    const name = `retry_on ${c.retryOn}, first try ${c.failure}`;
    if (c.retried) {
      t.equal(r.status, 200, `${name}: retried, 200`);
      t.equal(r.body, 'second', `${name}: second try's body`);
      t.equal(up.requests.length, 2, `${name}: two attempts`);
      t.equal(p.running.proxy.stats.cluster('c').upstream_rq_retry, 1, `${name}: upstream_rq_retry 1`);
    } else {
      t.equal(r.status, c.status, `${name}: not retried, ${c.status}`);
      t.equal(up.requests.length, 1, `${name}: one attempt`);
    }
  }
});

t.test('retry_on connect-failure: a refused endpoint is retried on the other one', async (t) => {
  const up = await startUpstream(t, ok('alive'));
  const dead = await closedPort();
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: 'connect-failure', num_retries: 1 } })],
    clusters: { c: [dead, up.port] },
    accessLog: false,
  });
  for (let i = 0; i < 4; i++) {
    const r = await p.request();
    t.equal(r.status, 200, `request ${i} answered by the live endpoint`);
  }
  const s = p.running.proxy.stats.cluster('c');
  t.ok(s.upstream_cx_connect_fail >= 1, 'the dead endpoint was tried');
  t.equal(s.upstream_rq_retry, s.upstream_cx_connect_fail, 'every connect failure was retried');
});

t.test('num_retries is honoured: 1 + N attempts, then the last response with URX', async (t) => {
  for (const n of [0, 1, 3]) {
    let i = 0;
    const up = await startUpstream(t, (_req, res) => res.send(503, {}, `attempt ${++i}`));
    const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: n } })], clusters: { c: [up.port] } });
    const r = await p.request();
    t.equal(up.requests.length, 1 + n, `num_retries ${n}: ${1 + n} attempts`);
    t.equal(r.status, 503);
    t.equal(r.body, `attempt ${1 + n}`, 'the last response is relayed');
    const [line] = await p.accessLog(1);
    t.equal(line.response_flags, 'URX', `num_retries ${n}: flag URX`);
    t.equal(p.running.proxy.stats.cluster('c').upstream_rq_retry_limit_exceeded, 1);
  }
});

t.test('retries exhausted on resets: 503 with UC,URX', async (t) => {
  const up = await startUpstream(t, reset);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: 'reset', num_retries: 2 } })], clusters: { c: [up.port] } });
  const r = await p.request();
  t.equal(r.status, 503);
  t.match(r.body, /retried and the latest reset reason: connection termination/);
  t.equal(up.requests.length, 3);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'UC,URX');
});

t.test('no retry_policy: a 503 is relayed after one attempt', async (t) => {
  const up = await startUpstream(t, failFirst(1, status(503)));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.request();
  t.equal(r.status, 503);
  t.equal(up.requests.length, 1);
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, '-');
});

t.test('x-envoy-retry-on and x-envoy-max-retries from the client enable retries', async (t) => {
  const up = await startUpstream(t, failFirst(2, status(503)));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, accessLog: false });
  const r = await p.request({ headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '2' } });
  t.equal(r.status, 200);
  t.equal(up.requests.length, 3);
});

t.test('per_try_timeout: a try that hangs is abandoned and retried', async (t) => {
  const up = await startUpstream(t, failFirst(1, hang, ok('second')));
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { timeout: '2s', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.2s' } })],
    clusters: { c: [up.port] },
  });
  const started = performance.now();
  const r = await p.request();
  const took = performance.now() - started;
  t.equal(r.status, 200);
  t.equal(r.body, 'second');
  t.ok(took >= 190 && took < 1500, `answered after the per-try timeout (${Math.round(took)} ms)`);
  t.equal(up.requests.length, 2);
  t.ok(up.connections[0].closed, 'the hung try\'s connection was closed');
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_per_try_timeout, 1);
});

t.test('per_try_timeout with every try hanging: 504 UT after 1 + N tries', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { timeout: '2s', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.15s' } })],
    clusters: { c: [up.port] },
  });
  const r = await p.request();
  t.equal(r.status, 504);
  t.equal(r.body, 'upstream request timeout');
  t.equal(up.requests.length, 2);
  const [line] = await p.accessLog(1);
  t.match(line.response_flags, /UT/);
});

t.test('the request body is replayed intact on a retry', async (t) => {
  const up = await startUpstream(t, failFirst(1, status(503), echo));
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: 1 } })], clusters: { c: [up.port] }, accessLog: false });
  const body = Buffer.alloc(20_000, 'abcdefghij').toString();
  const r = await p.request({ method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  t.equal(r.status, 200);
  t.equal(up.requests.length, 2);
  t.equal(up.requests[0].body.toString(), body, 'first try got the whole body');
  t.equal(up.requests[1].body.toString(), body, 'second try got the whole body');
  t.equal(r.body, body, 'echoed');
});

t.test('a chunked request body is replayed intact on a retry', async (t) => {
  const up = await startUpstream(t, failFirst(1, status(503), echo));
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: 1 } })], clusters: { c: [up.port] }, accessLog: false });
  const r = await p.raw('POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', { until: (s) => s.endsWith('hello world') });
  t.match(r.text, /^HTTP\/1.1 200/);
  t.equal(up.requests.length, 2);
  t.equal(up.requests[1].body.toString(), 'hello world');
});

t.test('a body over per_connection_buffer_limit_bytes is not retried', async (t) => {
  const up = await startUpstream(t, failFirst(1, status(503), echo));
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: 1 } })],
    clusters: { c: { endpoints: [up.port], extra: { per_connection_buffer_limit_bytes: 1024 } } },
    accessLog: false,
  });
  const body = 'x'.repeat(8192);
  const r = await p.request({ method: 'POST', body });
  t.equal(r.status, 503, 'the first response is relayed');
  t.equal(up.requests.length, 1, 'one attempt');
  t.equal(up.requests[0].body.length, 8192, 'the whole body reached the upstream');
});

t.test('a retry goes to the other endpoint when the cluster has two', async (t) => {
  const bad = await startUpstream(t, status(503, 'bad'));
  const good = await startUpstream(t, ok('good'));
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: 1 } })],
    clusters: { c: [bad.port, good.port] },
    accessLog: false,
  });
  for (let i = 0; i < 4; i++) t.equal((await p.request()).body, 'good', `request ${i}`);
  t.ok(bad.requests.length >= 1, 'the failing endpoint was tried');
  t.equal(good.requests.length, 4);
});
