/**
 * WebSocket over HTTP/2 hops (RFC 8441 extended CONNECT), as Envoy carries it: the connection
 * manager's `http2_protocol_options.allow_connect` lets h2 clients send `:protocol websocket`
 * (converted to an HTTP/1.1 upgrade for the router, the 101 back to a 200), and a cluster's
 * `http2_protocol_options.allow_connect` sends upgrades to an HTTP/2 upstream as extended
 * CONNECT (its 200 back to a 101). Real sockets: `ws` clients and servers, node:http2 clients
 * and servers, one and two proxies in series; and the refusals.
 */
import t from 'tap';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { route, startTestProxy, type ProxySpec, type TestLike } from './helpers/harness.js';
import { h2ClusterExtra, until } from './helpers/h2-upstream-server.js';
import { acceptKey, exerciseEcho, extendedConnect, h2Session, startH2WsServer, startWsEchoServer, wsConnect, wsOnDuplex } from './helpers/ws-h2.js';

const WEBSOCKET = { upgrade_configs: [{ upgrade_type: 'websocket' }] };
const H2_CONNECT_HCM = { ...WEBSOCKET, http2_protocol_options: { allow_connect: true } };

/** A proxy in front of `port`: `h2Up` sends HTTP/2 upstream (with allow_connect unless said otherwise). */
function spec(port: number, o: { h2Up?: boolean; allowConnectUp?: boolean; hcm?: Record<string, unknown>; action?: Record<string, unknown> } = {}): ProxySpec {
  const extra = o.h2Up ? h2ClusterExtra('http2', o.allowConnectUp === false ? {} : { allow_connect: true }) : undefined;
  return {
    routes: [route('/', 'ws', { timeout: '0s', ...o.action })],
    clusters: { ws: extra ? { endpoints: [port], extra } : [port] },
    hcm: o.hcm ?? WEBSOCKET,
  };
}

t.test('a ws client reaches an HTTP/2 upstream over extended CONNECT (cluster allow_connect)', async (t) => {
  const up = await startH2WsServer(t);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true }));
  const ws = await wsConnect(t, p.port, '/chat?room=1');
  const h = up.requests[0];
  t.equal(h[':method'], 'CONNECT');
  t.equal(h[':protocol'], 'websocket');
  t.equal(h[':path'], '/chat?room=1', 'the path is kept');
  t.equal(h.upgrade, undefined, 'no upgrade header on HTTP/2');
  t.equal(h.connection, undefined, 'no connection header on HTTP/2');
  t.ok(h['sec-websocket-key'], 'the handshake key is carried');
  const stats = p.running.proxy.stats.httpScope('test');
  t.equal(stats.downstream_cx_upgrades_active, 1, 'the tunnel is open');
  await exerciseEcho(t, ws);
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101, 'the client got a 101');
  t.equal(line.response_code_details, 'via_upstream');
  t.ok((line.bytes_received as number) > 300 * 1024, 'tunnel bytes counted');
  await until(() => stats.downstream_cx_upgrades_active === 0);
});

t.test('an h2 client opens a WebSocket with extended CONNECT to an HTTP/1.1 ws server (HCM allow_connect)', async (t) => {
  const up = await startWsEchoServer(t);
  const p = await startTestProxy(t, spec(up.port, { hcm: H2_CONNECT_HCM }));
  const session = await h2Session(t, p.port);
  t.equal(session.remoteSettings.enableConnectProtocol, true, 'SETTINGS_ENABLE_CONNECT_PROTOCOL advertised');
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const c = await extendedConnect(session, '/chat', key);
  t.equal(c.status, 200, 'the 101 became a 200 on the h2 stream');
  t.equal(c.headers['sec-websocket-accept'], acceptKey(key), "the server's accept value is relayed");
  t.equal(up.headers[0].upgrade, 'websocket', 'the upstream got an HTTP/1.1 upgrade');
  t.match(String(up.headers[0].connection), /upgrade/i);
  await exerciseEcho(t, wsOnDuplex(c.stream, true));
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
  t.equal(line.protocol, 'HTTP/2');
  t.equal(line.method, 'GET', 'routed as the GET upgrade it stands for');
});

t.test('an h2 client to an h2 upstream: extended CONNECT on both hops', async (t) => {
  const up = await startH2WsServer(t);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true, hcm: H2_CONNECT_HCM }));
  const session = await h2Session(t, p.port);
  const c = await extendedConnect(session);
  t.equal(c.status, 200);
  t.equal(up.requests[0][':protocol'], 'websocket');
  await exerciseEcho(t, wsOnDuplex(c.stream, true));
});

t.test('WebSocket echo through two proxies in series, HTTP/1.1 on both hops', async (t) => {
  const up = await startWsEchoServer(t);
  const b = await startTestProxy(t, spec(up.port));
  const a = await startTestProxy(t, spec(b.port));
  const ws = await wsConnect(t, a.port);
  await exerciseEcho(t, ws);
  t.equal((await a.accessLog(1))[0].response_code, 101);
  t.equal((await b.accessLog(1))[0].response_code, 101);
});

t.test('WebSocket echo through two proxies with HTTP/2 (extended CONNECT) on the middle hop', async (t) => {
  const up = await startWsEchoServer(t);
  const b = await startTestProxy(t, spec(up.port, { hcm: H2_CONNECT_HCM }));
  const a = await startTestProxy(t, spec(b.port, { h2Up: true }));
  const ws = await wsConnect(t, a.port);
  t.equal(up.headers[0].upgrade, 'websocket', 'the last hop is an HTTP/1.1 upgrade again');
  await exerciseEcho(t, ws);
  const [la] = await a.accessLog(1);
  const [lb] = await b.accessLog(1);
  t.equal(la.response_code, 101);
  t.equal(lb.response_code, 101);
  t.equal(lb.protocol, 'HTTP/2', 'the middle hop was HTTP/2');
});

t.test('without allow_connect on the HCM: not advertised, and a :protocol request is reset (PROTOCOL_ERROR)', async (t) => {
  const up = await startWsEchoServer(t);
  const p = await startTestProxy(t, spec(up.port, { hcm: { ...WEBSOCKET, http2_protocol_options: {} } }));
  const session = await h2Session(t, p.port);
  t.equal(session.remoteSettings.enableConnectProtocol, false, 'SETTINGS_ENABLE_CONNECT_PROTOCOL not advertised');
  await t.rejects(extendedConnect(session), /NGHTTP2_PROTOCOL_ERROR/, 'the stream is reset with PROTOCOL_ERROR');
  t.equal(up.headers.length, 0, 'nothing reached the upstream');
});

t.test('an extended CONNECT on a route that disables websocket gets 403 upgrade_failed', async (t) => {
  const up = await startWsEchoServer(t);
  const p = await startTestProxy(t, spec(up.port, { hcm: H2_CONNECT_HCM, action: { upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] } }));
  const session = await h2Session(t, p.port);
  const c = await extendedConnect(session);
  t.equal(c.status, 403);
  await once(c.stream, 'close');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'upgrade_failed');
  t.equal(up.headers.length, 0);
  // The session is still good for other requests.
  const r = session.request({ ':path': '/plain' });
  r.end();
  r.resume();
  const [h] = (await once(r, 'response')) as [http2.IncomingHttpHeaders];
  t.ok(Number(h[':status']) > 0, 'the connection still serves requests');
});

t.test('towards an HTTP/2 cluster without allow_connect the upgrade still fails with 503', async (t) => {
  const up = await startH2WsServer(t);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true, allowConnectUp: false }));
  await t.rejects(wsConnect(t, p.port), /Unexpected server response: 503/);
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'upgrade_failed{http2_extended_connect_not_supported}');
  t.equal(up.requests.length, 0);
});

t.test('an h2 client gets the 503 with its reason too, and its stream is closed', async (t) => {
  const up = await startH2WsServer(t);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true, allowConnectUp: false, hcm: H2_CONNECT_HCM }));
  const session = await h2Session(t, p.port);
  const c = await extendedConnect(session);
  t.equal(c.status, 503);
  let body = '';
  c.stream.on('data', (d: Buffer) => (body += d.toString()));
  await once(c.stream, 'close');
  t.match(body, /allow_connect is off/);
  t.equal(up.requests.length, 0);
});

t.test('an HTTP/2 upstream that answers the extended CONNECT with 404: the ws client gets the 404, no tunnel', async (t) => {
  const up = await startH2WsServer(t, true, 404);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true }));
  await t.rejects(wsConnect(t, p.port), /Unexpected server response: 404/);
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 404);
  t.equal(line.response_code_details, 'via_upstream');
  t.equal(p.running.proxy.stats.httpScope('test').downstream_cx_upgrades_total, 0);
});

t.test('allow_connect on the cluster, but the upstream does not advertise extended CONNECT: 502, nothing sent', async (t) => {
  const up = await startH2WsServer(t, false);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true }));
  await t.rejects(wsConnect(t, p.port), /Unexpected server response: 502/);
  const [line] = await p.accessLog(1);
  t.match(line.response_flags, /UPE/);
  t.equal(up.requests.length, 0);
});

t.test('the tunnel idle timeout closes a quiet extended CONNECT tunnel on both sides', async (t) => {
  const up = await startH2WsServer(t);
  const p = await startTestProxy(t, spec(up.port, { h2Up: true, hcm: { ...H2_CONNECT_HCM, stream_idle_timeout: '0.3s' } }));
  const session = await h2Session(t, p.port);
  const c = await extendedConnect(session);
  t.equal(c.status, 200);
  const started = Date.now();
  await once(c.stream, 'close');
  t.ok(Date.now() - started >= 250, 'closed after the idle timeout');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code_details, 'stream_idle_timeout');
  t.match(line.response_flags, /SI/);
});

/** A raw HTTP/1.1 upstream that answers an upgrade with 101, then runs `after` on the socket. */
async function startRawUpgradeServer(t: TestLike, after: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let head = '';
    const onHead = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onHead);
      s.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
      after(s);
    };
    s.on('data', onHead);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

t.test('half-close crosses the HTTP/2 hop: END_STREAM from the client ends the upstream socket, which can still answer', async (t) => {
  const port = await startRawUpgradeServer(t, (s) => {
    s.allowHalfOpen = true;
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end('bye after your end'));
  });
  const p = await startTestProxy(t, spec(port, { hcm: H2_CONNECT_HCM }));
  const session = await h2Session(t, p.port);
  const c = await extendedConnect(session);
  t.equal(c.status, 200);
  let got = '';
  c.stream.on('data', (d: Buffer) => (got += d.toString()));
  c.stream.write('ping');
  await until(() => got === 'ping');
  c.stream.end();
  await once(c.stream, 'end');
  t.equal(got, 'pingbye after your end', 'the upstream answered after the client half-closed, then ended');
  const [line] = await p.accessLog(1);
  t.equal(line.response_code, 101);
});

t.test('a client that stops reading stops the upstream (flow control through the h2 tunnel), then gets every byte', async (t) => {
  const total = 24 * 1024 * 1024;
  let accepted = 0;
  const port = await startRawUpgradeServer(t, (s) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (accepted < total) {
        accepted += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  const p = await startTestProxy(t, spec(port, { hcm: H2_CONNECT_HCM }));
  const session = await h2Session(t, p.port);
  const c = await extendedConnect(session);
  c.stream.pause();
  await new Promise((r) => setTimeout(r, 600));
  const whilePaused = accepted;
  t.ok(whilePaused < total / 2, `the upstream was held back while the client did not read (${whilePaused} of ${total} bytes)`);
  let received = 0;
  c.stream.on('data', (d: Buffer) => (received += d.length));
  c.stream.resume();
  await once(c.stream, 'end');
  t.equal(received, total, 'every byte arrived once the client read again');
});
