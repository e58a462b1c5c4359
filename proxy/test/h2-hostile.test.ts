/**
 * Hostile HTTP/2 input on raw frames: an oversized header block, more streams than
 * max_concurrent_streams, a flood of opened-and-reset streams, a stream reset mid-body,
 * malformed requests. Each gets an HTTP/2 error (RST_STREAM or GOAWAY) and never reaches
 * the upstream as a request; the proxy keeps serving.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { hang, ok, route, startTestProxy, startUpstream } from './helpers/harness.js';
import { ERROR, FLAG, FRAME, errorCode, frame, getRequest, headersFrame, rawH2, rstFrame } from './helpers/h2-raw.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';

const isError = (stream: number) => (f: { type: number; stream: number }) => (f.type === FRAME.RST_STREAM && f.stream === stream) || f.type === FRAME.GOAWAY;

t.test('a header block over max_request_headers_kb: a stream error, nothing upstream', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { max_request_headers_kb: 1 } });
  for (const ackFirst of [false, true]) {
    const c = await rawH2(t, p.port);
    // Sent at once, or once the server's SETTINGS (its header list limit) were acknowledged.
    if (ackFirst) await c.waitFrame((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0);
    c.write(headersFrame(1, [...getRequest('h'), ['x-big', 'a'.repeat(4096)]], true));
    const f = await c.waitFrame(isError(1));
    t.ok(f !== undefined && errorCode(f) === ERROR.ENHANCE_YOUR_CALM, `${ackFirst ? 'after' : 'before'} the SETTINGS ACK: RST_STREAM ENHANCE_YOUR_CALM`);
    // More header fields than max_headers_count (100) + the 4 pseudo-headers.
    const many: [string, string][] = [...getRequest('h')];
    for (let i = 0; i < 120; i++) many.push([`x-h${i}`, 'v']);
    c.write(headersFrame(3, many, true));
    t.ok((await c.waitFrame(isError(3))) !== undefined, `${ackFirst ? 'after' : 'before'} the SETTINGS ACK: too many header fields, an HTTP/2 error`);
  }
  await sleep(100);
  t.equal(up.received().length, 0, 'no byte reached the upstream');
  t.equal((await h2Request(h2Connect(t, p.port))).status, 200, 'a new client is served');
});

t.test('streams beyond max_concurrent_streams are refused, not forwarded', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '5s' })], clusters: { c: [up.port] }, hcm: { http2_protocol_options: { max_concurrent_streams: 2 } } });
  const c = await rawH2(t, p.port);
  // Wait for the server's SETTINGS (the limit) as a real client would not; then open three.
  await c.waitFrame((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0);
  c.write(Buffer.concat([headersFrame(1, getRequest('h', '/1'), true), headersFrame(3, getRequest('h', '/3'), true), headersFrame(5, getRequest('h', '/5'), true)]));
  // nghttp2 refuses the stream; node then ends the whole session (GOAWAY): either is an HTTP/2 error.
  const f = await c.waitFrame(isError(5));
  t.ok(f !== undefined, `the third stream: ${f === undefined ? 'nothing' : f.type === FRAME.GOAWAY ? 'GOAWAY' : 'RST_STREAM'}`);
  await sleep(150);
  t.notOk(up.requests.some((r) => r.path === '/5'), 'the refused stream never went upstream');
  t.ok(up.requests.length <= 2, 'at most the two admitted streams went upstream');
});

t.test('a flood of streams opened and reset at once ends in GOAWAY', async (t) => {
  const up = await startUpstream(t, hang);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { timeout: '0.5s' })], clusters: { c: [up.port] }, accessLog: false });
  const c = await rawH2(t, p.port);
  const frames: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    const id = 1 + 2 * i;
    frames.push(headersFrame(id, getRequest('h', `/flood/${i}`), true), rstFrame(id, ERROR.CANCEL));
  }
  c.write(Buffer.concat(frames));
  const g = await c.waitFrame((f) => f.type === FRAME.GOAWAY, 5000);
  t.ok(g !== undefined, `GOAWAY${g ? ` (error code ${errorCode(g)})` : ''}`);
  await sleep(200);
  t.ok(up.requests.length < 3000, `the flood did not reach the upstream as 3000 requests (${up.requests.length})`);
  t.equal((await h2Request(h2Connect(t, p.port))).status, 504, 'the proxy still serves (this upstream never answers: 504 after the route timeout)');
});

t.test('a stream reset mid-body never reaches the upstream as a request', async (t) => {
  const up = await startUpstream(t, ok('fine'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const c = await rawH2(t, p.port);
  const post: [string, string][] = [[':method', 'POST'], [':scheme', 'http'], [':path', '/upload'], [':authority', 'h'], ['content-length', '100']];
  c.write(Buffer.concat([headersFrame(1, post, false), frame(FRAME.DATA, 0, 1, Buffer.alloc(10, 1))]));
  await sleep(100);
  c.write(rstFrame(1, ERROR.CANCEL));
  await sleep(150);
  t.equal(up.requests.length, 0, 'no complete request upstream');
  c.write(headersFrame(3, getRequest('h', '/after'), true));
  const h = await c.waitFrame((f) => f.type === FRAME.HEADERS && f.stream === 3);
  t.ok(h !== undefined, 'the next stream on the same connection is answered');
  const [line] = (await p.accessLog(2)).filter((l) => l.path === '/upload');
  t.match(line.response_flags, /DC/, 'the reset stream is logged as DC (downstream connection termination)');
});

t.test('malformed requests: a stream error, nothing upstream', async (t) => {
  const up = await startUpstream(t, ok());
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] } });
  const cases: [string, [string, string][]][] = [
    ['no :path', [[':method', 'GET'], [':scheme', 'http'], [':authority', 'h']]],
    ['a connection header', [...getRequest('h'), ['connection', 'keep-alive']]],
    ['an upper-case header name', [...getRequest('h'), ['X-Upper', '1']]],
    ['te other than trailers', [...getRequest('h'), ['te', 'gzip']]],
  ];
  for (const [name, headers] of cases) {
    const c = await rawH2(t, p.port);
    c.write(headersFrame(1, headers, true));
    const f = await c.waitFrame(isError(1));
    t.ok(f !== undefined, `${name}: RST_STREAM or GOAWAY`);
    if (f !== undefined) t.equal(errorCode(f), ERROR.PROTOCOL_ERROR, `${name}: PROTOCOL_ERROR`);
  }
  await sleep(100);
  t.equal(up.received().length, 0, 'no byte reached the upstream');
});
