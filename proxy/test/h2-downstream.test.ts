/**
 * HTTP/2 from clients (h2c with prior knowledge) through the proxy to HTTP/1.1 upstreams:
 * codec_type AUTO/HTTP1/HTTP2, curl --http2-prior-knowledge, nghttp, node:http2 requests with
 * streamed bodies, trailers, connection-specific headers kept out of h2, `:authority` as
 * Host, and flow control when the upstream reads slowly.
 */
import t from 'tap';
import net from 'node:net';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { echo, ok, rawExchange, route, startTestProxy, startUpstream } from './helpers/harness.js';
import { h2Connect, h2PostWithTrailers, h2Request } from './helpers/h2-client.js';

const run = promisify(execFile);

const noCurl = spawnSync('curl', ['--version']).error === undefined ? false : 'curl is not installed (Debian: apt-get install curl)';
// CI installs curl: there a missing one is a failure, not a skip.
if (noCurl && process.env.CI === 'true') t.fail(noCurl);

t.test('curl --http2-prior-knowledge through an AUTO listener', { skip: noCurl }, async (t) => {
  const up = await startUpstream(t, ok('hello over h2', { 'x-up': 'yes' }));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const out = (await run('curl', ['-sS', '--http2-prior-knowledge', '-D', '-', '-H', 'x-client: 1', `http://127.0.0.1:${p.port}/hello?q=1`])).stdout;
  t.match(out, /^HTTP\/2 200 ?\r\n/, 'an HTTP/2 response');
  t.match(out, /\r\nx-up: yes\r\n/);
  t.match(out, /\r\n\r\nhello over h2$/);
  const req = up.requests[0];
  t.equal(req.path, '/hello?q=1');
  t.equal(req.version, 'HTTP/1.1', 'upstream stays HTTP/1.1');
  t.equal(req.headers.host, `127.0.0.1:${p.port}`, ':authority becomes Host');
  t.equal(req.headers['x-client'], '1');
  t.equal(req.headers['x-forwarded-proto'], 'http');
  const [line] = await p.accessLog(1);
  t.equal(line.protocol, 'HTTP/2', 'the access log says HTTP/2');
  t.equal(line.response_code, 200);
});

const noNghttp = spawnSync('nghttp', ['--version']).error === undefined ? false : 'nghttp is not installed (Debian: apt-get install nghttp2-client)';
if (noNghttp && process.env.CI === 'true') t.fail(noNghttp);

t.test('nghttp (nghttp2-client): a GET and a POST with a body, h2c with prior knowledge', { skip: noNghttp }, async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, { 'x-up': 'yes' }, `${req.method} ${req.path} ${req.body.length}`));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const get = (await run('nghttp', ['-v', `http://127.0.0.1:${p.port}/from-nghttp`])).stdout;
  t.match(get, /recv \(stream_id=\d+\) :status: 200/, 'nghttp reads :status 200');
  t.match(get, /recv \(stream_id=\d+\) x-up: yes/);
  t.match(get, /GET \/from-nghttp 0/, 'the body the upstream sent');
  t.match(get, /recv GOAWAY|send GOAWAY/, 'the session ends with a GOAWAY');
  const file = join(mkdtempSync(join(tmpdir(), 'nghttp-')), 'body');
  writeFileSync(file, Buffer.alloc(100_000, 0x61));
  const post = (await run('nghttp', ['-d', file, `http://127.0.0.1:${p.port}/upload`])).stdout;
  t.equal(post, 'POST /upload 100000', 'a 100 kB request body streamed through');
  t.equal(up.requests.length, 2);
});

t.test('node:http2: several streams on one session, each routed and answered', async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, {}, `path=${req.path}`));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const s = h2Connect(t, p.port);
  const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => h2Request(s, { path: `/n/${i}` })));
  t.same(rs.map((r) => r.body.toString()), [1, 2, 3, 4, 5].map((i) => `path=/n/${i}`));
  t.ok(rs.every((r) => r.status === 200));
  t.equal(up.requests.length, 5);
});

t.test('a streamed h2 request body reaches the upstream whole (chunked, or with its length)', async (t) => {
  const up = await startUpstream(t, echo);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const s = h2Connect(t, p.port);
  const pieces = ['first ', 'second ', 'third'];
  const r = await h2Request(s, { method: 'POST', body: pieces });
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'first second third');
  t.equal(up.requests[0].headers['transfer-encoding'], 'chunked', 'no length given: chunked upstream');
  const r2 = await h2Request(s, { method: 'POST', headers: { 'content-length': '5' }, body: 'abcde' });
  t.equal(r2.body.toString(), 'abcde');
  t.equal(up.requests[1].headers['content-length'], '5', 'a given length is kept');
  t.notOk('transfer-encoding' in up.requests[1].headers);
});

t.test('h2 request trailers go upstream; upstream response trailers reach the h2 client', async (t) => {
  let upstreamRaw = '';
  const server = net.createServer((sock) => {
    sock.on('data', (d) => {
      upstreamRaw += d.toString('latin1');
      if (upstreamRaw.includes('\r\n0\r\n') && upstreamRaw.endsWith('\r\n\r\n')) {
        sock.write('HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\ntrailer: grpc-status\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [(server.address() as net.AddressInfo).port] } });
  const s = h2Connect(t, p.port);
  const r = await h2PostWithTrailers(s, '/svc/Call', 'ping');
  t.equal(r.status, 200);
  t.equal(r.body, 'abc');
  t.equal(r.trailers['grpc-status'], '0', 'response trailer');
  t.equal(r.trailers['grpc-message'], 'fine');
  t.match(upstreamRaw, /\r\n\r\n4\r\nping\r\n0\r\nx-req-trailer: sent\r\n\r\n$/, 'request body and trailer, chunked');
  t.notMatch(upstreamRaw, /\r\nte: /i, 'te is not forwarded to HTTP/1.1');
});

t.test('connection-specific headers never go into an h2 response', async (t) => {
  const server = net.createServer((sock) => {
    sock.once('data', () =>
      sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive, x-hop\r\nkeep-alive: timeout=5\r\nx-hop: 1\r\nupgrade: h2c\r\nproxy-connection: keep-alive\r\nx-end: kept\r\n\r\nok'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [(server.address() as net.AddressInfo).port] } });
  const r = await h2Request(h2Connect(t, p.port));
  t.equal(r.status, 200, 'the client accepted the response (an h2 client refuses connection-specific headers)');
  t.equal(r.body.toString(), 'ok');
  for (const n of ['connection', 'keep-alive', 'x-hop', 'upgrade', 'proxy-connection', 'transfer-encoding']) t.notOk(n in r.headers, `${n} not sent`);
  t.equal(r.headers['x-end'], 'kept');
});

t.test('local replies to h2 requests: 404 without a route, direct responses', async (t) => {
  const p = await startTestProxy(t, { routes: [{ match: { prefix: '/direct' }, direct_response: { status: 418, body: { inline_string: 'teapot' } } }] });
  const s = h2Connect(t, p.port);
  const r = await h2Request(s, { path: '/direct' });
  t.equal(r.status, 418);
  t.equal(r.body.toString(), 'teapot');
  const nr = await h2Request(s, { path: '/nowhere' });
  t.equal(nr.status, 404);
  const head = await h2Request(s, { method: 'HEAD', path: '/direct' });
  t.equal(head.status, 418);
  t.equal(head.body.length, 0, 'no body to HEAD');
});

t.test('codec_type HTTP2 speaks only h2; HTTP1 never answers the preface with h2', async (t) => {
  const up = await startUpstream(t, ok('x'));
  const h2only = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { codec_type: 'HTTP2' } });
  t.equal((await h2Request(h2Connect(t, h2only.port))).body.toString(), 'x');
  const h1only = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { codec_type: 'HTTP1' } });
  const r = await rawExchange(t, h1only.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  t.match(r.text, /^HTTP\/1\.1 (400|505) /, 'an HTTP/1.1 error');
  t.ok(r.closed);
  t.equal((await h1only.request()).body, 'x', 'HTTP/1.1 works');
});

t.test('a slow upstream reader holds the client back (flow control), nothing is lost', async (t) => {
  const total = 16 * 1024 * 1024;
  let received = 0;
  let upSocket: net.Socket | undefined;
  const server = net.createServer((sock) => {
    upSocket = sock;
    sock.pause();
    sock.on('data', (d) => {
      received += d.length;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { timeout: '30s' })],
    clusters: { c: [(server.address() as net.AddressInfo).port] },
    hcm: { http2_protocol_options: { initial_stream_window_size: 65535, initial_connection_window_size: 65535 } },
  });
  const s = h2Connect(t, p.port);
  const req = s.request({ ':method': 'PUT', ':path': '/big', 'content-length': String(total) });
  req.on('error', () => {});
  const piece = Buffer.alloc(64 * 1024, 7);
  let queued = 0;
  const writeMore = (): void => {
    while (queued < total) {
      queued += piece.length;
      if (!req.write(piece)) return void req.once('drain', writeMore);
    }
    req.end();
  };
  writeMore();
  await sleep(700);
  const sentWhilePaused = s.socket.bytesWritten;
  t.ok(sentWhilePaused < total / 2, `the client was held back: ${sentWhilePaused} of ${total} bytes sent while the upstream did not read`);
  upSocket!.resume();
  const deadline = Date.now() + 20_000;
  while (received < total && Date.now() < deadline) await sleep(20);
  t.ok(received >= total, `the upstream got the whole body once it read (${received} bytes incl. head)`);
});

t.test('a slow h2 client holds the upstream back (flow control on the response), nothing is lost', async (t) => {
  const total = 16 * 1024 * 1024;
  let upSocket: net.Socket | undefined;
  let queued = 0;
  const server = net.createServer((sock) => {
    upSocket = sock;
    const piece = Buffer.alloc(64 * 1024, 5);
    const writeMore = (): void => {
      while (queued < total) {
        queued += piece.length;
        if (!sock.write(piece)) return void sock.once('drain', writeMore);
      }
    };
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`);
      writeMore();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '30s' })], clusters: { c: [(server.address() as net.AddressInfo).port] } });
  const s = h2Connect(t, p.port, { initialWindowSize: 65535 });
  const req = s.request({ ':path': '/big' });
  let got = 0;
  req.on('data', (c: Buffer) => (got += c.length));
  req.pause();
  await sleep(700);
  const left = queued - upSocket!.writableLength;
  t.ok(left < total / 2, `the upstream was held back: ${left} of ${total} bytes left it while the client did not read`);
  const ended = new Promise<void>((resolve) => req.on('end', () => resolve()));
  req.resume();
  await ended;
  t.equal(got, total, 'the client got the whole body once it read');
});

t.test('expect: 100-continue on an h2 request is answered by the proxy, not forwarded', async (t) => {
  const up = await startUpstream(t, echo);
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const s = h2Connect(t, p.port);
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = s.request({ ':method': 'POST', ':path': '/', expect: '100-continue' });
    let status = 0;
    let body = '';
    req.on('continue', () => req.end('after continue'));
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
  });
  t.equal(r.status, 200);
  t.equal(r.body, 'after continue', 'the body was sent on the 100 and forwarded');
  t.notOk('expect' in up.requests[0].headers, 'Expect not forwarded');
});
