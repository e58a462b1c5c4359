/**
 * The HTTP/1.1 codecs behind the neutral request path: bodies cross the proxy as payload
 * and trailers and are framed again on the other side (chunked trailers both ways, kept for
 * a retry), and the chunked decoder hands out the same trailers however its input is split.
 */
import t from 'tap';
import net from 'node:net';
import { ChunkedDecoder } from '../src/http/chunked-decoder.js';
import { failFirst, ok, rawClient, route, startTestProxy, startUpstream, status } from './helpers/harness.js';

t.test('chunked decoder: payload and trailers are the same at every split point', async (t) => {
  const wire = Buffer.from('5\r\nhello\r\n3;x=1\r\nabc\r\n0\r\nx-sum: 12\r\nx-other:  two words \r\n\r\n', 'latin1');
  for (let cut = 0; cut <= wire.length; cut++) {
    const parts: Buffer[] = [];
    const d = new ChunkedDecoder((b) => parts.push(Buffer.from(b)), true);
    let end = d.consume(wire.subarray(0, cut), 0);
    if (end === -1) end = d.consume(wire.subarray(cut), 0);
    t.equal(Buffer.concat(parts).toString(), 'helloabc', `cut ${cut}: payload`);
    t.same(d.trailers(100), { names: ['x-sum', 'x-other'], values: ['12', 'two words'] }, `cut ${cut}: trailers`);
  }
  const none = new ChunkedDecoder(undefined, true);
  t.not(none.consume(Buffer.from('0\r\n\r\n'), 0), -1);
  t.equal(none.trailers(100), null, 'no trailer section: null');
  none.reset();
  t.equal(none.consume(Buffer.from('2\r\nhi\r\n0\r\nx: y\r\n\r\n'), 0), 18, 'a reset decoder reads the next message');
  t.same(none.trailers(100), { names: ['x'], values: ['y'] });
});

t.test('response trailers of a chunked upstream reach an HTTP/1.1 client', async (t) => {
  const server = net.createServer((s) => {
    s.on('data', () => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n4\r\nbody\r\n0\r\nx-checksum: 99\r\n\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [(server.address() as net.AddressInfo).port] } });
  const c = await rawClient(t, p.port);
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  const text = await c.waitFor((s) => s.endsWith('\r\n\r\n') && s.includes('\r\n0\r\n'));
  t.match(text, /^HTTP\/1\.1 200 /);
  t.match(text, /\r\ntransfer-encoding: chunked\r\n/);
  t.notMatch(text, /\r\ntrailer: /i, 'the hop-by-hop Trailer header is not forwarded');
  t.match(text, /\r\n\r\n4\r\nbody\r\n0\r\nx-checksum: 99\r\n\r\n$/, 'payload re-chunked, trailer kept');
  // The connection is still usable.
  c.text = '';
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.waitFor((s) => s.endsWith('x-checksum: 99\r\n\r\n'));
});

t.test('a chunked request with trailers is replayed whole on a retry', async (t) => {
  const up = await startUpstream(t, failFirst(1, status(503), ok('second')));
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', num_retries: 1 } })], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n');
  c.write('2\r\nde\r\n0\r\nx-checksum: 5\r\n\r\n');
  await c.waitFor((s) => s.endsWith('second'));
  t.equal(up.requests.length, 2, 'two tries');
  for (const r of up.requests) {
    t.equal(r.body.toString(), 'abcde', `try ${r.index}: body`);
    t.match(r.raw.toString('latin1'), /0\r\nx-checksum: 5\r\n\r\n$/, `try ${r.index}: trailer sent`);
    t.equal(r.headers['x-envoy-attempt-count'], String(r.index + 1), `try ${r.index}: attempt count`);
  }
});

t.test('a request body sent before the upstream connected is forwarded with its length', async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, {}, `got ${req.body.length}`));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.request({ method: 'POST', body: 'x'.repeat(50_000) });
  t.equal(r.body, 'got 50000');
  t.equal(up.requests[0].headers['content-length'], '50000');
  t.notOk('transfer-encoding' in up.requests[0].headers);
});
