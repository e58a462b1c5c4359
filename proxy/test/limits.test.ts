/**
 * Timeouts of the connection manager, Expect: 100-continue, the circuit breakers and
 * large bodies that must flow with back-pressure instead of being buffered whole.
 */
import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import { echo, hang, ok, rawClient, route, sleep, startTestProxy, startUpstream } from './helpers/harness.js';
import { closedPort } from './helpers/test-upstream.js';

t.test('request_timeout: a body that never finishes gets 408 and the connection closes', async (t) => {
  const up = await startUpstream(t, echo);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { request_timeout: '0.3s' } });
  const c = await rawClient(t, p.port);
  c.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly ten b');
  const text = await c.waitFor((s) => s.includes('\r\n\r\n'), 3000);
  t.match(text, /^HTTP\/1\.1 408 /, '408 Request Timeout');
  await c.closed;
  t.ok(c.isClosed, 'connection closed');
});

t.test('idle_timeout: an idle keep-alive connection is closed', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, {
    routes: [route('/', 'c')],
    clusters: { c: [up.port] },
    hcm: { common_http_protocol_options: { idle_timeout: '0.3s' } },
  });
  const c = await rawClient(t, p.port);
  c.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  await c.waitFor((s) => s.includes('\r\n\r\nok'));
  const started = Date.now();
  await c.closed;
  const waited = Date.now() - started;
  t.ok(waited >= 200 && waited < 3000, `closed after about the idle timeout (${waited} ms)`);
  const idleClosed = [...p.running.proxy.stats.http.values()].reduce((n, s) => n + s.downstream_cx_idle_timeout, 0);
  t.equal(idleClosed, 1, 'downstream_cx_idle_timeout counted');
});

t.test('stream_idle_timeout: an upstream silent for too long gives 408 SI', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '0s' })], clusters: { c: [up.port] }, hcm: { stream_idle_timeout: '0.3s' } });
  const r = await p.request({ path: '/' });
  t.equal(r.status, 408, 'stream timeout');
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'SI', 'flag SI');
});

t.test('Expect: 100-continue is answered by the proxy and not forwarded', async (t) => {
  const up = await startUpstream(t, echo);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n');
  await c.waitFor((s) => s.startsWith('HTTP/1.1 100 Continue\r\n\r\n'));
  c.write('hello');
  const text = await c.waitFor((s) => s.endsWith('hello'));
  t.match(text, /HTTP\/1\.1 200 /, 'final response after 100 Continue');
  const req = up.requests[0];
  t.notOk(req.raw.toString('latin1').toLowerCase().includes('expect:'), 'Expect not forwarded upstream');
});

t.test('max_connections and max_pending_requests: the overflow gets 503 UO', async (t) => {
  const up = await startUpstream(t, ok('slow', {}, 300));
  const p = await startTestProxy(t, {
    routes: [route('/', 'c')],
    clusters: {
      c: {
        endpoints: [up.port],
        extra: { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } },
      },
    },
  });
  const results = await Promise.all([0, 1, 2].map(async (i) => {
    await sleep(i * 20);
    return p.request({ path: '/' });
  }));
  const codes = results.map((r) => r.status).sort();
  t.same(codes, [200, 200, 503], 'one in flight, one queued, one overflow');
  const overflow = results.find((r) => r.status === 503)!;
  t.match(overflow.body, /reset reason: overflow/, 'Envoy overflow body');
  const lines = await p.accessLog(3);
  t.ok(lines.some((l) => l.response_flags === 'UO'), 'flag UO logged');
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_pending_overflow, 1, 'pending overflow counted');
});

t.test('circuit breaker gauges: circuit_breakers.default.* while at the limits, remaining_* with track_remaining', async (t) => {
  const up = await startUpstream(t, ok('slow', {}, 400));
  const p = await startTestProxy(t, {
    routes: [route('/', 'c')],
    clusters: { c: { endpoints: [up.port], extra: { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1, track_remaining: true }] } } } },
  });
  const stats = (): Map<string, number> =>
    new Map(p.running.proxy.stats.renderText().trim().split('\n').filter((l) => l.startsWith('cluster.c.circuit_breakers.')).map((l) => {
      const [k, v] = l.split(': ');
      return [k.slice('cluster.c.circuit_breakers.'.length), Number(v)];
    }));
  const idle = stats();
  t.equal(idle.get('default.cx_open'), 0, 'closed before any request');
  t.equal(idle.get('default.remaining_pending'), 1);
  t.equal(idle.get('default.remaining_cx'), 1);
  t.equal(idle.get('high.rq_pending_open'), 0, 'the high priority is listed, closed');
  const inFlight = [p.request({ path: '/' }), sleep(30).then(() => p.request({ path: '/' }))];
  await sleep(150);
  const busy = stats();
  t.equal(busy.get('default.cx_open'), 1, 'max_connections reached: cx_open');
  t.equal(busy.get('default.rq_pending_open'), 1, 'max_pending_requests reached: rq_pending_open');
  t.equal(busy.get('default.remaining_pending'), 0);
  t.equal(busy.get('default.remaining_cx'), 0);
  t.match(p.running.proxy.stats.renderPrometheus(), /\n# TYPE envoy_cluster_circuit_breakers_default_rq_pending_open gauge\nenvoy_cluster_circuit_breakers_default_rq_pending_open\{envoy_cluster_name="c"\} 1\n/, 'a Prometheus gauge');
  t.same((await Promise.all(inFlight)).map((r) => r.status), [200, 200]);
  t.equal(stats().get('default.rq_pending_open'), 0, 'closed again when the queue is empty');
});

t.test('upstream_rq_pending_failure_eject: a request whose connection fails to connect', async (t) => {
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [await closedPort()] } });
  const r = await p.request({ path: '/' });
  t.equal(r.status, 503);
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_pending_failure_eject, 1, 'counted once');
});

t.test('a large response streams through with back-pressure and arrives intact', async (t) => {
  const size = 8 * 1024 * 1024;
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i++) big[i] = i % 251;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(size) });
    res.end(big);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [port] } });
  // A slow reader: pause between reads so the proxy's socket buffer fills.
  const got = await new Promise<Buffer>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: p.port, path: '/' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        res.pause();
        setTimeout(() => res.resume(), 1);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).on('error', reject);
  });
  t.equal(got.length, size, 'all bytes');
  t.ok(got.equals(big), 'same bytes');
});

t.test('a large request body streams upstream intact', async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, {}, String(req.body.length)));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const body = Buffer.alloc(4 * 1024 * 1024, 7);
  const r = await p.request({ method: 'POST', path: '/', body, headers: { 'content-length': String(body.length) } });
  t.equal(r.status, 200);
  t.equal(r.body, String(body.length), 'upstream got every byte');
});

t.test('max_connections is the cluster\'s: a request queued for one host is served when another host frees the slot', async (t) => {
  const a = await startUpstream(t, ok('a', {}, 200));
  const b = await startUpstream(t, ok('b', {}, 200));
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { timeout: '3s' })],
    clusters: { c: { endpoints: [a.port, b.port], extra: { circuit_breakers: { thresholds: [{ max_connections: 1 }] } } } },
  });
  const started = Date.now();
  const rs = await Promise.all([p.request({ path: '/' }), p.request({ path: '/' })]);
  t.same(rs.map((r) => r.status), [200, 200], 'both answered');
  t.same(rs.map((r) => r.body).sort(), ['a', 'b'], 'one on each host');
  t.ok(Date.now() - started < 2000, 'the queued request did not wait for a timeout');
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_pending_active, 0, 'queue empty');
});

t.test('per_try_timeout does not cut a response that has started streaming', async (t) => {
  // The upstream answers as soon as the head arrives and streams for 500 ms; the client
  // sends its body late, so the request completes after the response started.
  const server = net.createServer((s) => {
    let answered = false;
    s.on('data', () => {
      if (answered) return;
      answered = true;
      s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      let n = 0;
      const timer = setInterval(() => {
        if (++n <= 5) s.write('1\r\nx\r\n');
        else {
          clearInterval(timer);
          s.write('0\r\n\r\n');
        }
      }, 100);
      s.on('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', per_try_timeout: '0.3s' } })], clusters: { c: [port] } });
  const c = await rawClient(t, p.port);
  c.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\n');
  await sleep(250);
  c.write('late');
  const text = await c.waitFor((s) => s.endsWith('0\r\n\r\n'), 3000);
  t.match(text, /^HTTP\/1\.1 200 /);
  t.equal((text.match(/1\r\nx\r\n/g) ?? []).length, 5, 'every chunk arrived');
  t.equal(p.running.proxy.stats.cluster('c').upstream_rq_per_try_timeout, 0, 'no per-try timeout counted');
});
