/** Keep-alive, pipelining, HTTP/1.0, chunked bodies both ways, HEAD. */
import t from 'tap';
import net from 'node:net';
import { echo, ok, parseResponses, rawClient, route, sleep, startTestProxy, startUpstream, type UpHandler } from './helpers/harness.js';

const byPath: UpHandler = (req, res) => res.send(200, {}, `you asked ${req.path}`);

t.test('two pipelined requests on one socket get two responses, in order', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    // The first answer is the slower one: order must still hold.
    if (req.path === '/first') setTimeout(() => byPath(req, res), 50);
    else byPath(req, res);
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('GET /first HTTP/1.1\r\nhost: h\r\n\r\nGET /second HTTP/1.1\r\nhost: h\r\n\r\n');
  const text = await c.waitFor((s) => s.includes('you asked /second'));
  const rs = parseResponses(text);
  t.equal(rs.length, 2);
  t.equal(rs[0].body, 'you asked /first');
  t.equal(rs[1].body, 'you asked /second');
  t.notOk(c.isClosed, 'the connection stays open');
  c.write('GET /third HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.waitFor((s) => s.includes('you asked /third'));
  t.equal(p.running.proxy.stats.httpScope('test').downstream_cx_total, 1, 'one downstream connection for all three');
});

t.test('a pipelined request body is not mistaken for the next request', async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, {}, `${req.method} ${req.path} [${req.body.toString()}]`));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('POST /a HTTP/1.1\r\nhost: h\r\ncontent-length: 31\r\n\r\nGET /evil HTTP/1.1\r\nhost: h\r\n\r\nGET /b HTTP/1.1\r\nhost: h\r\n\r\n');
  const text = await c.waitFor((s) => s.includes('GET /b'));
  const rs = parseResponses(text);
  t.equal(rs.length, 2);
  t.equal(rs[0].body, 'POST /a [GET /evil HTTP/1.1\r\nhost: h\r\n\r\n]');
  t.equal(rs[1].body, 'GET /b []');
  t.notOk(up.requests.some((r) => r.path === '/evil'));
});

t.test('HTTP/1.0: answered, then the connection closes (no keep-alive asked)', async (t) => {
  const up = await startUpstream(t, ok('hello'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.raw('GET / HTTP/1.0\r\n\r\n');
  t.ok(r.closed, 'closed by the proxy');
  const [resp] = parseResponses(r.text);
  t.equal(resp.status, 200);
  t.equal(resp.body, 'hello');
  t.equal(up.requests[0].version, 'HTTP/1.1', 'sent upstream as HTTP/1.1');
});

t.test('HTTP/1.0 with a chunked upstream response: de-chunked, closed', async (t) => {
  const up = await startUpstream(t, (_req, res) => res.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.raw('GET / HTTP/1.0\r\n\r\n');
  t.ok(r.closed);
  const head = r.text.slice(0, r.text.indexOf('\r\n\r\n'));
  t.notMatch(head, /transfer-encoding/i, 'no chunked framing to an HTTP/1.0 client');
  t.equal(r.text.slice(r.text.indexOf('\r\n\r\n') + 4), 'hello world');
});

t.test('HTTP/1.0 with keep-alive asked: the connection stays open', async (t) => {
  const up = await startUpstream(t, ok('hello'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n');
  await c.waitFor((s) => s.endsWith('hello'));
  t.match(c.text, /connection: keep-alive/i);
  await sleep(50);
  t.notOk(c.isClosed);
});

t.test('Connection: close from an HTTP/1.1 client: answered with connection: close, then closed', async (t) => {
  const up = await startUpstream(t, ok('bye'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.raw('GET / HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n');
  t.ok(r.closed);
  t.match(r.text, /\r\nconnection: close\r\n/i);
});

t.test('a chunked request body is forwarded intact (framing kept)', async (t) => {
  const up = await startUpstream(t, echo);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('POST /up HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
  await sleep(20);
  c.write('1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n');
  const text = await c.waitFor((s) => s.endsWith('hello world'));
  t.match(text, /^HTTP\/1.1 200/);
  t.equal(up.requests[0].body.toString(), 'hello world');
  t.equal(up.requests[0].headers['transfer-encoding'], 'chunked');
  t.notOk('content-length' in up.requests[0].headers);
});

t.test('a chunked response is relayed intact', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
    setTimeout(() => res.socket.write('6\r\n world\r\n0\r\n\r\n'), 30);
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.request();
  t.equal(r.status, 200);
  t.equal(r.headers['transfer-encoding'], 'chunked');
  t.equal(r.body, 'hello world');
  // the upstream connection is reused afterwards
  const r2 = await p.request();
  t.equal(r2.body, 'hello world');
  t.equal(up.connections.length, 1, 'upstream connection kept alive');
});

t.test('a response delimited by close is relayed chunked to an HTTP/1.1 client', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the');
    setTimeout(() => res.socket.end(' end'), 30);
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const r = await p.request();
  t.equal(r.status, 200);
  t.equal(r.body, 'until the end');
});

t.test('HEAD: the response has no body, content-length kept, connection reusable', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    if (req.method === 'HEAD') res.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n');
    else res.send(200, {}, 'after head');
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawClient(t, p.port);
  c.write('HEAD / HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.waitFor((s) => s.includes('\r\n\r\n'));
  await sleep(30);
  t.match(c.text, /content-length: 1234/);
  t.ok(c.text.endsWith('\r\n\r\n'), 'nothing after the head');
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.waitFor((s) => s.endsWith('after head'));
  const rs = parseResponses(c.text, 1);
  t.equal(rs.length, 2);
  t.equal(rs[1].body, 'after head');
});

t.test('HEAD on a local reply has no body', async (t) => {
  const p = await startTestProxy(t, { routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'body' } } }] });
  const c = await rawClient(t, p.port);
  c.write('HEAD / HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.waitFor((s) => s.includes('\r\n\r\n'));
  await sleep(30);
  t.ok(c.text.endsWith('\r\n\r\n'), 'nothing after the head');
});

t.test('upstream connections are reused across requests', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  for (let i = 0; i < 5; i++) t.equal((await p.request()).status, 200);
  t.equal(up.connections.length, 1);
  t.equal(up.requests.length, 5);
});

t.test('an upstream answering Connection: close is not reused', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.send(200, { connection: 'close' }, 'x');
    res.socket.end();
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  for (let i = 0; i < 3; i++) t.equal((await p.request()).status, 200, `request ${i}`);
  t.equal(up.connections.length, 3);
});

t.test('an upstream answering before the request body is complete: relayed, both connections closed after', async (t) => {
  // A raw upstream that answers 413 as soon as it sees the request head.
  const upConns: net.Socket[] = [];
  const server = net.createServer((s) => {
    upConns.push(s);
    s.on('error', () => {});
    let seen = '';
    s.on('data', (d: Buffer) => {
      const first = !seen.includes('\r\n\r\n');
      seen += d.toString('latin1');
      if (first && seen.includes('\r\n\r\n')) s.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n\r\nbig!');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    upConns.forEach((s) => s.destroy());
    server.close();
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [(server.address() as net.AddressInfo).port] } });
  const c = await rawClient(t, p.port);
  c.write('POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 100000\r\n\r\nstart');
  const text = await c.waitFor((s) => s.endsWith('big!'));
  t.match(text, /^HTTP\/1.1 413 /);
  t.match(text, /\r\nconnection: close\r\n/i, 'the client is told the connection closes');
  await Promise.race([c.closed, sleep(1000)]);
  t.ok(c.isClosed, 'client connection closed (the rest of its body cannot be trusted)');
  for (let i = 0; i < 50 && !upConns[0].destroyed && upConns[0].readyState !== 'closed'; i++) await sleep(10);
  await sleep(20);
  t.equal(p.running.proxy.stats.cluster('c').upstream_cx_active, 0, 'upstream connection closed, not left open');
});
