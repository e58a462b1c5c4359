/**
 * The life of HTTP/2 streams and sessions through the neutral connection manager: the
 * stream idle and request timeouts answer h2 requests as they answer HTTP/1.1 ones, and a
 * drain sends GOAWAY while the streams in flight finish.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { hang, ok, route, startTestProxy, startUpstream } from './helpers/harness.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';

t.test('stream_idle_timeout: an h2 stream waiting on a silent upstream gets 408', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '0s' })], clusters: { c: [up.port] }, hcm: { stream_idle_timeout: '0.3s' } });
  const r = await h2Request(h2Connect(t, p.port));
  t.equal(r.status, 408);
  t.equal(r.body.toString(), 'stream timeout');
  const [line] = await p.accessLog(1);
  t.equal(line.response_flags, 'SI');
  t.equal(line.protocol, 'HTTP/2');
});

t.test('request_timeout: an h2 request body that never ends gets 408', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { request_timeout: '0.3s' } });
  const s = h2Connect(t, p.port);
  const r = await new Promise<number>((resolve, reject) => {
    const req = s.request({ ':method': 'POST', ':path': '/slow' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', reject);
    req.write('part of a body that never ends');
  });
  t.equal(r, 408);
  t.equal(up.requests.length, 0, 'the unfinished request never completed upstream');
});

t.test('drain: GOAWAY to h2 clients, the stream in flight still finishes', async (t) => {
  const up = await startUpstream(t, ok('late answer', {}, 300));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, drainTimeMs: 2000 });
  const s = h2Connect(t, p.port);
  const goaway = new Promise<void>((resolve) => s.once('goaway', () => resolve()));
  const inFlight = h2Request(s);
  await sleep(50);
  const stopping = p.running.stop();
  await goaway;
  t.pass('GOAWAY received');
  const r = await inFlight;
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'late answer', 'the stream in flight finished');
  await stopping;
});
