/**
 * HTTP/1.1 CONNECT answered by the proxy (http/connect-terminate.ts) and tcp_proxy listeners,
 * on a plain Envoy bootstrap:
 *   - a route with `connect_matcher` and a CONNECT upgrade entry with `connect_config`: the
 *     tunnel's bytes go to the route's cluster as TCP (echo, half-close, 503 with no host);
 *   - a virtual host without such a route, on an HCM that allows CONNECT: the tunnel is a new
 *     client connection (HTTP/1.1 and HTTP/2 inside are routed like any request); a grpc-js
 *     client using the proxy through `http_proxy` reaches a grpc-js server;
 *   - CONNECT the proxy does not take is answered (404, 403, 400) and never forwarded;
 *   - a listener whose chain is `tcp_proxy` relays every connection to its cluster.
 */
import t from 'tap';
import net from 'node:net';
import http2 from 'node:http2';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { buildBootstrap, closedPort, route, startTestProxy, startUpstream, tempDir, writeBootstrap, type ProxySpec, type TestLike } from './helpers/harness.js';
import { h2ClusterExtra } from './helpers/h2-upstream-server.js';
import { startProxy } from '../src/main.js';

/** A TCP echo server that also ends its side when the client does. */
async function startEcho(t: TestLike): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('end', () => s.end('bye'));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
}

const CONNECT_HCM = { upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'CONNECT' }] };

function connectRoute(cluster: string): Record<string, unknown> {
  return { match: { connect_matcher: {} }, route: { cluster, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } };
}

/** Opens a CONNECT tunnel; resolves with the socket and the response head once the head is in. */
async function openTunnel(port: number, authority: string): Promise<{ socket: net.Socket; head: string; rest: Buffer }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const [d] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, d]);
    const i = buf.indexOf('\r\n\r\n');
    if (i >= 0) return { socket, head: buf.toString('latin1', 0, i), rest: buf.subarray(i + 4) };
  }
}

/** Everything the socket sends until it ends. */
async function readAll(socket: net.Socket, already: Buffer = Buffer.alloc(0)): Promise<string> {
  const chunks: Buffer[] = [already];
  socket.on('data', (d: Buffer) => chunks.push(d));
  await once(socket, 'end');
  return Buffer.concat(chunks).toString('latin1');
}

function spec(echoPort: number, webPort: number, extra: Partial<ProxySpec> = {}): ProxySpec {
  return {
    virtualHosts: [
      { name: 'tcp', domains: ['tcp.svc:9000'], routes: [connectRoute('tcp')] },
      { name: 'web', domains: ['web.svc', 'web.svc:80'], routes: [route('/', 'web')] },
    ],
    clusters: { tcp: [echoPort], web: [webPort] },
    hcm: CONNECT_HCM,
    ...extra,
  };
}

t.test('CONNECT to a route with connect_config: 200, then TCP to the cluster with half-close', async (t) => {
  const echo = await startEcho(t);
  const web = await startUpstream(t);
  const p = await startTestProxy(t, spec(echo.port, web.port));
  const { socket, head, rest } = await openTunnel(p.port, 'tcp.svc:9000');
  t.match(head, /^HTTP\/1\.1 200 /);
  socket.write('ping');
  socket.end();
  const all = await readAll(socket, rest);
  t.equal(all, 'echo:pingbye', 'bytes both ways, and the FIN carried across');
  t.equal(echo.accepted(), 1);
  const stats = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats`)).text();
  t.match(stats, /cluster\.tcp\.upstream_cx_total: 1/);
  t.match(stats, /http\.test\.downstream_cx_upgrades_total: 1/);
});

t.test('CONNECT to a cluster with no listening host: 503 and the connection closes', async (t) => {
  const deadPort = await closedPort();
  const web = await startUpstream(t);
  const p = await startTestProxy(t, spec(deadPort, web.port));
  const { socket, head, rest } = await openTunnel(p.port, 'tcp.svc:9000');
  t.match(head, /^HTTP\/1\.1 503 /);
  t.match(await readAll(socket, rest), /connection failure/);
});

t.test('CONNECT to an HTTP service: the tunnel is a new connection of the listener, routed by Host', async (t) => {
  const echo = await startEcho(t);
  const web = await startUpstream(t);
  const p = await startTestProxy(t, spec(echo.port, web.port));
  const { socket, head, rest } = await openTunnel(p.port, 'web.svc:80');
  t.match(head, /^HTTP\/1\.1 200 /);
  socket.write('GET /inside HTTP/1.1\r\nHost: web.svc\r\nConnection: close\r\n\r\n');
  const res = await readAll(socket, rest);
  t.match(res, /^HTTP\/1\.1 200 /);
  t.equal(web.requests.length, 1);
  t.equal(web.requests[0].path, '/inside');
  const log = await p.accessLog(1);
  t.equal(log[0].path, '/inside');
  t.equal(log[0].upstream_cluster, 'web');
});

t.test('HTTP/2 inside a CONNECT tunnel (prior knowledge): routed to an h2 cluster', async (t) => {
  const h2 = http2.createServer();
  h2.on('stream', (s, h) => {
    s.respond({ ':status': 200, 'x-path': String(h[':path']) });
    s.end('h2 answer');
  });
  h2.listen(0, '127.0.0.1');
  await once(h2, 'listening');
  t.teardown(() => h2.close());
  const h2Port = (h2.address() as net.AddressInfo).port;
  const p = await startTestProxy(t, {
    virtualHosts: [{ name: 'h2', domains: ['h2.svc:8080'], routes: [route('/', 'h2')] }],
    clusters: { h2: { endpoints: [h2Port], extra: h2ClusterExtra('http2') } },
    hcm: CONNECT_HCM,
  });
  const { socket, head, rest } = await openTunnel(p.port, 'h2.svc:8080');
  t.match(head, /^HTTP\/1\.1 200 /);
  if (rest.length > 0) socket.unshift(rest);
  const session = http2.connect('http://h2.svc:8080', { createConnection: () => socket });
  t.teardown(() => session.destroy());
  const req = session.request({ ':path': '/over-h2' });
  let body = '';
  let status = 0;
  let xPath = '';
  req.on('response', (h) => {
    status = Number(h[':status']);
    xPath = String(h['x-path']);
  });
  req.on('data', (d: Buffer) => (body += d));
  await once(req, 'end');
  t.equal(status, 200);
  t.equal(xPath, '/over-h2');
  t.equal(body, 'h2 answer');
});

t.test('a grpc-js client with http_proxy set reaches a grpc-js server through the proxy', async (t) => {
  const passThrough = (b: Buffer): Buffer => b;
  const m = { requestStream: false, responseStream: false, requestSerialize: passThrough, requestDeserialize: passThrough, responseSerialize: passThrough, responseDeserialize: passThrough };
  const service: grpc.ServiceDefinition = { echo: { ...m, path: '/test.Echo/Echo' } };
  const server = new grpc.Server();
  server.addService(service, { echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])) });
  const gport = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
  t.teardown(() => server.forceShutdown());
  const p = await startTestProxy(t, {
    virtualHosts: [{ name: 'grpc', domains: ['greeter.svc:50051'], routes: [route('/', 'g')] }],
    clusters: { g: { endpoints: [gport], extra: h2ClusterExtra('http2') } },
    hcm: CONNECT_HCM,
  });
  const saved = process.env.http_proxy;
  process.env.http_proxy = `http://127.0.0.1:${p.port}`;
  t.teardown(() => {
    if (saved === undefined) delete process.env.http_proxy;
    else process.env.http_proxy = saved;
  });
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client('greeter.svc:50051', grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const res = await new Promise<Buffer>((resolve, reject) =>
    (client as unknown as { echo: (r: Buffer, cb: (e: Error | null, r?: Buffer) => void) => void }).echo(Buffer.from('hi'), (e, r) => (e ? reject(e) : resolve(r!))),
  );
  t.equal(res.toString(), 'echo:hi');
  const log = await p.accessLog(1);
  t.equal(log[0].path, '/test.Echo/Echo');
  t.equal(log[0].protocol, 'HTTP/2');
});

t.test('CONNECT the proxy does not take is answered and never forwarded', async (t) => {
  const echo = await startEcho(t);
  const web = await startUpstream(t);
  // No CONNECT in upgrade_configs: an HTTP service's CONNECT goes to a stream, which refuses it.
  const p = await startTestProxy(t, spec(echo.port, web.port, { hcm: {} }));
  const refused = await openTunnel(p.port, 'web.svc:80');
  t.match(refused.head, /^HTTP\/1\.1 404 /, 'no route matches a CONNECT');
  await readAll(refused.socket, refused.rest);
  // The TCP route without CONNECT allowed anywhere: 403.
  const p2 = await startTestProxy(t, spec(echo.port, web.port, { hcm: {}, virtualHosts: [{ name: 'tcp', domains: ['tcp.svc:9000'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'tcp' } }] }] }));
  const r2 = await openTunnel(p2.port, 'tcp.svc:9000');
  t.match(r2.head, /^HTTP\/1\.1 403 /);
  await readAll(r2.socket, r2.rest);
  // An unknown authority, and a malformed target.
  const p3 = await startTestProxy(t, spec(echo.port, web.port));
  const r3 = await openTunnel(p3.port, 'nowhere.svc:1');
  t.match(r3.head, /^HTTP\/1\.1 404 /);
  await readAll(r3.socket, r3.rest);
  const bad = await p3.raw('CONNECT /not-an-authority HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(bad.text, /^HTTP\/1\.1 400 /);
  t.equal(echo.accepted(), 0, 'nothing reached the TCP service');
  t.equal(web.requests.length, 0, 'nothing reached the HTTP service');
});

t.test('a tcp_proxy listener relays every connection to its cluster, with idle_timeout', async (t) => {
  const echo = await startEcho(t);
  const boot = buildBootstrap({ routes: [], clusters: { tcp: [echo.port] } }, undefined) as { static_resources: { listeners: unknown[] } };
  boot.static_resources.listeners = [
    {
      name: 'tcp_listener',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'tcp_test', cluster: 'tcp', idle_timeout: '0.3s' },
            },
          ],
        },
      ],
    },
  ];
  const running = await startProxy({ bootstrap: writeBootstrap(tempDir(), boot), healthPort: undefined, healthAddress: '127.0.0.1', drainTimeMs: 100 });
  t.teardown(() => running.stop());
  const port = running.proxy.listeners.get('tcp_listener')!.port;
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.write('one');
  s.end();
  t.equal(await readAll(s), 'echo:onebye');
  // Idle: a silent connection is closed after idle_timeout.
  const idle = net.connect({ port, host: '127.0.0.1' });
  const started = Date.now();
  idle.on('data', () => {});
  await once(idle, 'close');
  t.ok(Date.now() - started >= 250, `closed after ${Date.now() - started} ms of silence`);
  // A bad tcp_proxy config names the field.
  const bad = structuredClone(boot) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] } };
  delete bad.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster;
  await t.rejects(startProxy({ bootstrap: writeBootstrap(tempDir(), bad, 'bad.yaml'), healthPort: undefined, healthAddress: '127.0.0.1', drainTimeMs: 100 }), /tcp_proxy|cluster: must not be empty/);
});
