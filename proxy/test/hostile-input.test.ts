/** Malformed and hostile requests on raw sockets: answered by the proxy, never forwarded. */
import t from 'tap';
import http2 from 'node:http2';
import { ok, parseResponses, rawClient, route, sleep, startTestProxy, startUpstream, type Upstream } from './helpers/harness.js';

const manyHeaders = Array.from({ length: 101 }, (_, i) => `x-h${i}: v\r\n`).join('');
const bigHeader = `x-big: ${'a'.repeat(61 * 1024)}\r\n`;

const cases: { name: string; bytes: string | Buffer; status: number }[] = [
  { name: 'headers over 60 KiB', bytes: `GET / HTTP/1.1\r\nhost: h\r\n${bigHeader}\r\n`, status: 431 },
  { name: 'headers over 60 KiB without the end of the head', bytes: `GET / HTTP/1.1\r\nhost: h\r\n${bigHeader}`, status: 431 },
  { name: 'more than 100 headers', bytes: `GET / HTTP/1.1\r\nhost: h\r\n${manyHeaders}\r\n`, status: 431 },
  { name: 'Content-Length with Transfer-Encoding', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', status: 400 },
  { name: 'two different Content-Length', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!', status: 400 },
  { name: 'Content-Length list with different values', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 5, 6\r\n\r\nhello!', status: 400 },
  { name: 'negative Content-Length', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ncontent-length: -1\r\n\r\n', status: 400 },
  { name: 'bad chunk size', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'chunk data longer than its size', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'header value with a bare CR', bytes: 'GET / HTTP/1.1\r\nhost: h\r\nx-a: one\rtwo\r\n\r\n', status: 400 },
  { name: 'header value with a bare LF', bytes: 'GET / HTTP/1.1\r\nhost: h\r\nx-a: one\ntwo\r\n\r\n', status: 400 },
  { name: 'header value with a NUL', bytes: 'GET / HTTP/1.1\r\nhost: h\r\nx-a: one\x00two\r\n\r\n', status: 400 },
  { name: 'invalid method G@T', bytes: 'G@T / HTTP/1.1\r\nhost: h\r\n\r\n', status: 400 },
  { name: 'space before the colon', bytes: 'GET / HTTP/1.1\r\nhost: h\r\nx-a : v\r\n\r\n', status: 400 },
  { name: 'obsolete line folding', bytes: 'GET / HTTP/1.1\r\nhost: h\r\nx-a: v\r\n  folded\r\n\r\n', status: 400 },
  { name: 'missing Host on HTTP/1.1', bytes: 'GET / HTTP/1.1\r\nx-a: v\r\n\r\n', status: 400 },
  { name: 'two Host headers', bytes: 'GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n', status: 400 },
  { name: 'unsupported transfer-encoding', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: gzip, chunked\r\n\r\n', status: 501 },
  { name: 'HTTP/2.0 request line', bytes: 'GET / HTTP/2.0\r\nhost: h\r\n\r\n', status: 505 },
  { name: 'request line ended by a bare LF', bytes: 'GET / HTTP/1.1\nhost: h\r\n\r\n', status: 400 },
  { name: 'header line ended by a bare LF', bytes: 'GET / HTTP/1.1\r\nhost: h\nx-a: v\r\n\r\n', status: 400 },
  { name: 'a head ended by bare LFs only', bytes: 'GET / HTTP/1.1\nhost: h\n\n', status: 400 },
  { name: 'an HTTP/0.9 request', bytes: 'GET /\r\n', status: 400 },
  { name: 'chunk size overflowing 64 bits', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'negative chunk size', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'chunk size line ended by a bare LF', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'chunk data ended by a bare LF', bytes: 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n', status: 400 },
  { name: 'an unbounded chunk extension', bytes: `POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5;ext=${'a'.repeat(70 * 1024)}`, status: 400 },
];

async function setup(t: Parameters<typeof startUpstream>[0]): Promise<{ up: Upstream; port: number; accessLog: (n?: number) => Promise<{ response_flags: string }[]> }> {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { request_headers_timeout: '0.3s' } });
  return { up, port: p.port, accessLog: p.accessLog };
}

t.test('malformed requests are answered by the proxy and the connection closes; the upstream receives nothing', async (t) => {
  for (const c of cases) {
    const { up, port } = await setup(t);
    const c2 = await rawClient(t, port);
    c2.write(c.bytes);
    await Promise.race([c2.closed, sleep(2000)]);
    t.ok(c2.isClosed, `${c.name}: connection closed`);
    t.match(c2.text, new RegExp(`^HTTP/1.1 ${c.status} `), `${c.name}: ${c.status}`);
    t.equal(parseResponses(c2.text).length, 1, `${c.name}: exactly one response`);
    t.equal(up.received().length, 0, `${c.name}: upstream received nothing`);
  }
});

t.test('a malformed request on a warm connection pool sends nothing upstream either', async (t) => {
  const { up, port } = await setup(t);
  const c = await rawClient(t, port);
  c.write('GET /warm HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.waitFor((s) => s.endsWith('ok'));
  const before = up.received().length;
  const bad = await rawClient(t, port);
  bad.write('POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
  await Promise.race([bad.closed, sleep(2000)]);
  t.match(bad.text, /^HTTP\/1.1 400 /);
  await sleep(30);
  t.equal(up.requests.length, 1, 'only the warm-up request was forwarded whole');
  const after = up.received().subarray(before).toString('latin1');
  t.notMatch(after, /hello/, 'no body bytes of the bad request went upstream');
});

t.test('slow client: half a request head, then 408 after request_headers_timeout and the connection closes', async (t) => {
  const { up, port, accessLog } = await setup(t);
  const c = await rawClient(t, port);
  const start = performance.now();
  c.write('GET / HTTP/1.1\r\nhost: h\r\nx-part');
  await Promise.race([c.closed, sleep(2000)]);
  const took = performance.now() - start;
  t.ok(c.isClosed, 'closed');
  t.match(c.text, /^HTTP\/1.1 408 /);
  t.ok(took >= 280 && took < 1500, `after about 300 ms (${Math.round(took)} ms)`);
  t.equal(up.received().length, 0, 'upstream received nothing');
  const lines = await accessLog(1);
  t.equal(lines.length, 1, 'the 408 is logged');
});

t.test('a protocol error is logged with DPE', async (t) => {
  const { port, accessLog } = await setup(t);
  const c = await rawClient(t, port);
  c.write('G@T / HTTP/1.1\r\nhost: h\r\n\r\n');
  await c.closed;
  const [line] = await accessLog(1);
  t.equal(line.response_flags, 'DPE');
});

t.test('a client that vanishes mid-body does not poison the next request or the upstream connection', async (t) => {
  const { up, port } = await setup(t);
  // Warm the pool so a connection could be reused.
  const w = await rawClient(t, port);
  w.write('GET /warm HTTP/1.1\r\nhost: h\r\n\r\n');
  await w.waitFor((s) => s.endsWith('ok'));
  const c = await rawClient(t, port);
  c.write('POST /half HTTP/1.1\r\nhost: h\r\ncontent-length: 1000\r\n\r\n0123456789');
  while (up.received().indexOf('0123456789') === -1) await sleep(5);
  c.socket.destroy();
  await sleep(30);
  const n = await rawClient(t, port);
  n.write('GET /next HTTP/1.1\r\nhost: h\r\n\r\n');
  const text = await n.waitFor((s) => s.endsWith('ok'));
  t.match(text, /^HTTP\/1.1 200 /, 'the next request works');
  const next = up.requests.find((r) => r.path === '/next');
  t.ok(next, 'the next request reached the upstream');
  t.notOk(next!.conn.data.includes('/half'), 'it did not share a connection with the half request');
  t.ok(up.requests.every((r) => r.method !== 'POST'), 'the half request never parsed as complete upstream');
});

t.test('bytes after a malformed request are not parsed as another request', async (t) => {
  const { up, port } = await setup(t);
  const c = await rawClient(t, port);
  c.write('POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: h\r\n\r\n');
  await Promise.race([c.closed, sleep(2000)]);
  t.equal(parseResponses(c.text).length, 1, 'one response');
  t.equal(up.received().length, 0, 'nothing smuggled upstream');
});

t.test('mutated requests over real sockets: the proxy stays up, and every request the upstream sees is well formed', async (t) => {
  const { up, port } = await setup(t);
  const valid = 'POST /a?b=c HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
  let seed = 99;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pieces = ['\r\n', '\n', ' ', ':', '\x00', 'content-length: 3\r\n', 'transfer-encoding: chunked\r\n', '0\r\n\r\n', 'GET / HTTP/1.1\r\n'];
  for (let i = 0; i < 150; i++) {
    const chars = valid.replace('content-length: 5\r\n', i % 2 === 0 ? 'content-length: 5\r\n' : '').split('');
    for (let k = 0; k < 3; k++) {
      const at = Math.floor(rand() * chars.length);
      if (rand() < 0.5) chars.splice(at, 1);
      else chars.splice(at, 0, pieces[Math.floor(rand() * pieces.length)]);
    }
    const c = await rawClient(t, port);
    c.write(chars.join(''));
    await Promise.race([c.closed, sleep(30)]);
    c.socket.destroy();
  }
  const after = await rawClient(t, port);
  after.write('GET /still-up HTTP/1.1\r\nhost: h\r\n\r\n');
  await after.waitFor((s) => s.endsWith('ok'), 3000);
  t.match(after.text, /^HTTP\/1\.1 200 /, 'the proxy still answers');
  for (const r of up.requests) {
    t.ok(/^[A-Z]+$/.test(r.method) && r.path.startsWith('/') && r.headers.host !== undefined, `upstream saw a well-formed request: ${r.method} ${r.path}`);
  }
});

t.test('identical Content-Length fields are collapsed into one before forwarding', async (t) => {
  const { up, port } = await setup(t);
  for (const bytes of ['POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\nhello', 'POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 5, 5\r\n\r\nhello']) {
    const c = await rawClient(t, port);
    c.write(bytes);
    while (!/^HTTP\/1\.1 200 /.test(c.text)) await sleep(5);
    c.socket.destroy();
  }
  t.equal(up.requests.length, 2);
  for (const r of up.requests) {
    t.same(r.headerNames.filter((n) => n === 'content-length'), ['content-length'], 'one content-length upstream');
    t.equal(r.headers['content-length'], '5');
    t.equal(r.body.toString(), 'hello');
  }
});

t.test('headers_with_underscores_action: ALLOW forwards, DROP_HEADER drops, REJECT_REQUEST refuses (HTTP/1.1 400, HTTP/2 reset)', async (t) => {
  const bytes = 'GET / HTTP/1.1\r\nhost: h\r\nx_user: alice\r\nx-ok: 1\r\n\r\n';
  const run = async (action: string | undefined): Promise<{ up: Upstream; text: string; stats: string; port: number }> => {
    const up = await startUpstream(t, ok());
    const hcm = action === undefined ? {} : { common_http_protocol_options: { headers_with_underscores_action: action } };
    const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm });
    const c = await rawClient(t, p.port);
    c.write(bytes);
    await Promise.race([c.closed, (async () => { while (!/\r\n\r\n/.test(c.text)) await sleep(5); })()]);
    await sleep(20);
    return { up, text: c.text, stats: p.running.proxy.stats.renderText(), port: p.port };
  };
  const allow = await run(undefined);
  t.match(allow.text, /^HTTP\/1\.1 200 /);
  t.equal(allow.up.requests[0].headers['x_user'], 'alice', 'ALLOW (the default): forwarded');
  const drop = await run('DROP_HEADER');
  t.match(drop.text, /^HTTP\/1\.1 200 /);
  t.notOk('x_user' in drop.up.requests[0].headers, 'DROP_HEADER: the header is gone');
  t.equal(drop.up.requests[0].headers['x-ok'], '1', 'the others stay');
  t.match(drop.stats, /^http1\.dropped_headers_with_underscores: 1$/m);
  const reject = await run('REJECT_REQUEST');
  t.match(reject.text, /^HTTP\/1\.1 400 /);
  t.equal(reject.up.received().length, 0, 'REJECT_REQUEST: nothing forwarded');
  t.match(reject.stats, /^http1\.requests_rejected_with_underscores_in_headers: 1$/m);
  const session = http2.connect(`http://127.0.0.1:${reject.port}`);
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  const code = await new Promise<number>((resolve) => {
    const req = session.request({ ':path': '/', x_user: 'alice' });
    req.on('error', () => {});
    req.on('close', () => resolve(req.rstCode ?? -1));
    req.resume();
    req.end();
  });
  t.equal(code, http2.constants.NGHTTP2_PROTOCOL_ERROR, 'HTTP/2: the stream is reset');
  t.equal(reject.up.received().length, 0);
});
