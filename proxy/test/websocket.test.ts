/**
 * WebSocket (HTTP/1.1 upgrade) through the proxy on a plain Envoy bootstrap: a `ws` client
 * and a `ws` server with the proxy between them, `upgrade_configs` on the HCM and on routes,
 * the byte tunnel after the 101 (echo, large messages, close codes, half-close, idle
 * timeout), and the refusals (403 when the route does not allow it, 503 towards HTTP/2).
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { parseResponses, route, sleep, startTestProxy, startUpstream, status, type ProxySpec, type TestLike } from './helpers/harness.js';
import { h2ClusterExtra, until } from './helpers/h2-upstream-server.js';

const WEBSOCKET = { upgrade_configs: [{ upgrade_type: 'websocket' }] };

/** A ws echo server: echoes every message as it came (text or binary); `close-me` closes with 4001 'bye'. */
async function startWsServer(t: TestLike): Promise<{ port: number; server: WebSocketServer; headers: Record<string, string | string[] | undefined>[] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024 });
  const headers: Record<string, string | string[] | undefined>[] = [];
  server.on('connection', (ws, req) => {
    headers.push(req.headers);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary && data.toString() === 'close-me') ws.close(4001, 'bye');
      else ws.send(data, { binary: isBinary });
    });
  });
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, server, headers };
}

/** A ws client through the proxy, open. */
async function connect(t: TestLike, port: number, path = '/chat'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { maxPayload: 64 * 1024 * 1024 });
  t.teardown(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** The next message on `ws`, with whether it was binary. */
function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: data as Buffer, isBinary })));
}

/** The status a refused handshake got (ws reports `Unexpected server response: N`). */
function refusedStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the upgrade went through')));
    ws.once('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

function wsSpec(upPort: number, extra: Partial<ProxySpec> = {}): ProxySpec {
  return { routes: [route('/', 'ws')], clusters: { ws: [upPort] }, hcm: WEBSOCKET, ...extra };
}

t.test('text and binary frames are echoed through the proxy; the access log records the 101', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, wsSpec(up.port));
  const ws = await connect(t, p.port);
  let m = nextMessage(ws);
  ws.send('hello through the mesh');
  let got = await m;
  t.equal(got.data.toString(), 'hello through the mesh');
  t.notOk(got.isBinary, 'a text frame stays text');
  const bin = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
  m = nextMessage(ws);
  ws.send(bin, { binary: true });
  got = await m;
  t.ok(got.isBinary, 'a binary frame stays binary');
  t.same([...got.data], [...bin]);
  t.equal(up.headers[0].upgrade, 'websocket', 'Upgrade forwarded');
  t.match(String(up.headers[0].connection), /upgrade/i, 'Connection: upgrade forwarded');
  t.ok(up.headers[0]['sec-websocket-key'], 'the handshake key reaches the server');
  const stats = p.running.proxy.stats.httpScope('test');
  t.equal(stats.downstream_cx_upgrades_total, 1);
  t.equal(stats.downstream_cx_upgrades_active, 1, 'the tunnel is open');
  t.equal((await p.accessLog(1, 200)).length, 0, 'no log line while the tunnel is open');
  ws.close(1000, 'done');
  await once(ws, 'close');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
  t.equal(line.response_code_details, 'via_upstream');
  t.equal(line.upstream_cluster, 'ws');
  t.ok((line.bytes_received as number) > 0 && (line.bytes_sent as number) > 0, 'tunnel bytes counted both ways');
  await until(() => stats.downstream_cx_upgrades_active === 0);
  t.equal(stats.downstream_rq_1xx, 1, 'the 101 counted');
});

t.test('a 5 MB message goes through whole, both ways', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, wsSpec(up.port));
  const ws = await connect(t, p.port);
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const m = nextMessage(ws);
  ws.send(big, { binary: true });
  const got = await m;
  t.equal(got.data.length, big.length);
  t.ok(got.data.equals(big), 'the same bytes came back');
});

t.test('close codes pass: the server closes with 4001 bye, the client sees it', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, wsSpec(up.port));
  const ws = await connect(t, p.port);
  const closed = once(ws, 'close');
  ws.send('close-me');
  const [code, reason] = (await closed) as [number, Buffer];
  t.equal(code, 4001);
  t.equal(reason.toString(), 'bye');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
});

t.test('the tunnel idle timeout (stream_idle_timeout) closes a quiet tunnel', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, wsSpec(up.port, { hcm: { ...WEBSOCKET, stream_idle_timeout: '0.4s' } }));
  const ws = await connect(t, p.port);
  // Traffic keeps it open past the timeout.
  let lastActivity = Date.now();
  for (let i = 0; i < 4; i++) {
    const m = nextMessage(ws);
    ws.send(`ping ${i}`);
    await m;
    lastActivity = Date.now();
    await sleep(150);
  }
  t.equal(ws.readyState, WebSocket.OPEN, 'still open while messages flow');
  const [code] = (await once(ws, 'close')) as [number];
  t.equal(code, 1006, 'the connection was cut (no close frame)');
  t.ok(Date.now() - lastActivity >= 350, 'only after the idle time since the last message');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
  t.match(line.response_flags, /SI/);
  t.equal(line.response_code_details, 'stream_idle_timeout');
});

t.test('half-close crosses the tunnel both ways', async (t) => {
  const got: Buffer[] = [];
  let upEnded = false;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let head = '';
    const onHead = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onHead);
      s.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: my-proto\r\n\r\nfrom upstream');
      s.end();
      s.on('data', (b: Buffer) => got.push(b));
    };
    s.on('data', onHead);
    s.on('end', () => {
      upEnded = true;
      s.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const upPort = (server.address() as net.AddressInfo).port;
  const p = await startTestProxy(t, wsSpec(upPort, { hcm: { upgrade_configs: [{ upgrade_type: 'My-Proto' }] } }));
  const c = net.connect({ port: p.port, host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => c.destroy());
  let text = '';
  c.on('data', (d: Buffer) => (text += d.toString('latin1')));
  c.write('GET /x HTTP/1.1\r\nhost: h\r\nconnection: Upgrade\r\nupgrade: MY-PROTO\r\n\r\n');
  await once(c, 'end');
  t.match(text, /^HTTP\/1\.1 101 /, 'the 101 relayed');
  t.match(text, /\r\nupgrade: my-proto\r\n/i);
  t.notMatch(text, /transfer-encoding|content-length/i, 'no framing on a 101');
  t.ok(text.endsWith('\r\n\r\nfrom upstream'), 'then the raw bytes, then the upstream end');
  c.write('from client after the upstream end');
  await until(() => Buffer.concat(got).toString() === 'from client after the upstream end');
  t.notOk(upEnded, 'the upstream half is still open');
  c.end();
  await until(() => upEnded);
  t.pass('the client end reached the upstream');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
});

t.test('no upgrade_configs: 403 upgrade_failed and the connection closes', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, wsSpec(up.port, { hcm: {} }));
  t.equal(await refusedStatus(p.port), 403);
  const r = await p.raw('GET / HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
  t.ok(r.closed, 'closed after the 403');
  t.equal(parseResponses(r.text)[0].status, 403);
  const lines = await p.accessLog(2);
  t.equal(lines[0].response_code, 403);
  t.equal(lines[0].response_code_details, 'upgrade_failed');
  t.equal(up.headers.length, 0, 'nothing reached the server');
  t.equal(p.running.proxy.stats.httpScope('test').downstream_rq_ws_on_non_ws_route, 2);
});

t.test('route upgrade_configs win over the HCM', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, {
    routes: [
      route('/off', 'ws', { upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] }),
      route('/', 'ws', { upgrade_configs: [{ upgrade_type: 'WebSocket' }] }),
    ],
    clusters: { ws: [up.port] },
  });
  const ws = await connect(t, p.port, '/on');
  const m = nextMessage(ws);
  ws.send('route allows it');
  t.equal((await m).data.toString(), 'route allows it', 'the route enables it with none on the HCM');
  const p2 = await startTestProxy(t, {
    routes: [route('/', 'ws', { upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] })],
    clusters: { ws: [up.port] },
    hcm: WEBSOCKET,
  });
  t.equal(await refusedStatus(p2.port), 403, 'the route disables it though the HCM allows it');
});

t.test('an upstream refusing the upgrade with 400: the client gets the 400, and the connection goes on', async (t) => {
  const up = await startUpstream(t, status(400, 'no upgrade here'));
  const p = await startTestProxy(t, wsSpec(up.port));
  t.equal(await refusedStatus(p.port), 400);
  const r = await p.raw('GET /a HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nGET /b HTTP/1.1\r\nhost: h\r\n\r\n', { until: (s: string) => (s.match(/HTTP\/1\.1 400/g) ?? []).length >= 2 });
  const rs = parseResponses(r.text);
  t.equal(rs.length, 2, 'a request after the refused upgrade is read as HTTP again');
  t.equal(rs[0].body, 'no upgrade here');
  t.equal(up.requests[1].headers.upgrade, 'websocket', 'the upgrade was asked of the upstream');
});

t.test('an upgrade towards an HTTP/2 cluster fails with 503 naming the reason', async (t) => {
  const up = await startWsServer(t);
  const p = await startTestProxy(t, { routes: [route('/', 'ws')], clusters: { ws: { endpoints: [up.port], extra: h2ClusterExtra('http2') } }, hcm: WEBSOCKET });
  t.equal(await refusedStatus(p.port), 503);
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'upgrade_failed{http2_extended_connect_not_supported}');
  t.equal(up.headers.length, 0);
});

t.test('an HTTP/1.0 request with upgrade headers is not upgraded (they are dropped)', async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, {}, `upgrade=${req.headers.upgrade ?? 'none'}`));
  const p = await startTestProxy(t, wsSpec(up.port));
  const r = await p.raw('GET / HTTP/1.0\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
  t.equal(parseResponses(r.text)[0].body, 'upgrade=none');
});

t.test('an upgrade request with a body is answered as a plain request (its body stays HTTP)', async (t) => {
  const up = await startUpstream(t, (req, res) => res.send(200, {}, `upgrade=${req.headers.upgrade ?? 'none'} body=${req.body.toString()}`));
  const p = await startTestProxy(t, wsSpec(up.port));
  const r = await p.raw('POST / HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\ncontent-length: 4\r\n\r\nabcd', {
    until: (s: string) => s.includes('body='),
  });
  t.equal(parseResponses(r.text)[0].body, 'upgrade=none body=abcd');
  t.equal(up.requests.length, 1);
});

t.test('bytes the client sends right after the upgrade head reach the upstream once it switched', async (t) => {
  const got: Buffer[] = [];
  const server = net.createServer((s) => {
    let head = '';
    const onHead = (d: Buffer): void => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      s.off('data', onHead);
      if (end + 4 < head.length) got.push(Buffer.from(head.slice(end + 4), 'latin1'));
      s.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
      s.on('data', (b: Buffer) => got.push(b));
    };
    s.on('data', onHead);
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const p = await startTestProxy(t, wsSpec((server.address() as net.AddressInfo).port));
  const c = net.connect({ port: p.port, host: '127.0.0.1' });
  t.teardown(() => c.destroy());
  c.on('error', () => {});
  let text = '';
  c.on('data', (d: Buffer) => (text += d.toString('latin1')));
  c.write('GET /x HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nearly bytes');
  await until(() => Buffer.concat(got).toString() === 'early bytes');
  t.match(text, /^HTTP\/1\.1 101 /);
  t.notMatch(Buffer.concat(got).toString(), /HTTP\/1\.1/, 'sent as tunnel bytes, not as a request');
  const stats = p.running.proxy.stats.httpScope('test');
  t.equal(stats.downstream_cx_upgrades_active, 1);
  c.destroy();
  await until(() => stats.downstream_cx_upgrades_active === 0);
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
  t.equal(line.bytes_received, 'early bytes'.length);
});
