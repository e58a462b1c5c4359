/**
 * Request and response smuggling: whatever could make the proxy and its upstream (or its
 * client) disagree on where a message ends is refused or normalised.
 */
import t from 'tap';
import net from 'node:net';
import { ok, parseResponses, rawClient, route, sleep, startTestProxy, startUpstream } from './helpers/harness.js';

t.test('Connection: content-length cannot strip the framing: the body stays the body', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const smuggled = 'GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n';
  const c = await rawClient(t, p.port);
  c.write(`POST /front HTTP/1.1\r\nhost: x\r\nconnection: content-length\r\ncontent-length: ${smuggled.length}\r\n\r\n${smuggled}`);
  await c.waitFor((s) => s.endsWith('ok'));
  await sleep(50);
  t.equal(up.requests.length, 1, 'one request upstream');
  t.equal(up.requests[0].path, '/front');
  t.equal(up.requests[0].body.toString('latin1'), smuggled, 'the body arrived as a body');
  t.notOk(up.requests.some((r) => r.path === '/smuggled'), 'nothing read as a second request');
});

t.test('Connection: host cannot strip the Host header', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.raw('GET / HTTP/1.1\r\nhost: kept.example\r\nconnection: host\r\n\r\n', { until: (s) => s.endsWith('ok') });
  t.match(r.text, /^HTTP\/1\.1 200 /);
  t.equal(up.requests[0].headers.host, 'kept.example');
});

t.test('an upstream response naming content-length in Connection keeps its framing', async (t) => {
  const server = net.createServer((s) => {
    s.on('data', () => s.write('HTTP/1.1 200 OK\r\nconnection: content-length\r\ncontent-length: 2\r\n\r\nhi'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [port] } });
  const c = await rawClient(t, p.port);
  c.write('GET /1 HTTP/1.1\r\nhost: x\r\n\r\nGET /2 HTTP/1.1\r\nhost: x\r\n\r\n');
  const text = await c.waitFor((s) => parseResponses(s).length === 2, 3000);
  const rs = parseResponses(text);
  t.same(rs.map((r) => r.body), ['hi', 'hi'], 'both responses framed and delivered');
  t.equal(rs[0].headers['content-length'], '2');
});

const trailerCases = [
  { name: 'a bare LF ending the last chunk', tail: '0\r\n\nGET /smuggled2 HTTP/1.1\r\nhost: x\r\n\r\n' },
  { name: 'a trailer line without a colon', tail: '0\r\nGET /smuggled2 HTTP/1.1\r\nhost: x\r\n\r\n' },
  { name: 'a trailer line with a NUL', tail: '0\r\nx-t: a\x00b\r\n\r\n' },
];

t.test('malformed chunked trailers are refused and nothing after them is read as a request', async (t) => {
  for (const c of trailerCases) {
    const up = await startUpstream(t, ok());
    const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
    const client = await rawClient(t, p.port);
    client.write(`POST /front HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n${c.tail}`);
    await Promise.race([client.closed, sleep(2000)]);
    t.match(client.text, /^HTTP\/1\.1 400 /, `${c.name}: 400`);
    t.ok(client.isClosed, `${c.name}: connection closed`);
    await sleep(50);
    t.notOk(up.requests.some((r) => r.path === '/smuggled2'), `${c.name}: no smuggled request upstream`);
    t.notOk(up.requests.some((r) => r.path === '/front'), `${c.name}: the broken request never completed upstream`);
  }
});

t.test('well-formed trailers pass through', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.raw('POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-checksum: 1234\r\n\r\n', { until: (s) => s.endsWith('ok') });
  t.match(r.text, /^HTTP\/1\.1 200 /);
  t.equal(up.requests[0].body.toString(), 'abc');
  t.match(up.requests[0].raw.toString('latin1'), /0\r\nx-checksum: 1234\r\n\r\n$/, 'trailer forwarded');
});

t.test('a status code that is not three digits is an upstream protocol error (502 UPE)', async (t) => {
  for (const line of ['HTTP/1.1 2e2 OK', 'HTTP/1.1 1e2 Continue', 'HTTP/1.1 +20 OK', 'HTTP/1.1 099 Low']) {
    const server = net.createServer((s) => s.on('data', () => s.end(`${line}\r\ncontent-length: 2\r\n\r\nhi`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [port] } });
    const r = await p.request({ path: '/' });
    t.equal(r.status, 502, `${line}: 502`);
    const [log] = await p.accessLog(1);
    t.equal(log.response_flags, 'UPE', `${line}: UPE`);
  }
});
