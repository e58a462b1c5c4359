/**
 * The capture listeners' decisions that need no iptables: where an inbound connection goes,
 * which ones are refused, half-close through the TCP proxy, a client resetting while sniffed.
 * The original destination is given (handleCapturedTo), as SO_ORIGINAL_DST would give it.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleCapturedTo, type CaptureHost } from '../src/capture/capture-connection.js';
import type { OriginalDst } from '../src/capture/original-dst.js';
import { proxyTcp } from '../src/capture/tcp-proxy.js';

interface FakeHost {
  host: CaptureHost;
  adopted: net.Socket[];
  tracked: net.Socket[];
}

function fakeHost(direction: 'INBOUND' | 'OUTBOUND', port = 15006): FakeHost {
  const adopted: net.Socket[] = [];
  const tracked: net.Socket[] = [];
  const host = {
    config: { port, capture: { direction, tcpPorts: new Set<number>() } },
    ctx: { clusters: new Map(), hcm: { routeConfig: { virtualHosts: [] } } },
    stats: undefined,
    adoptHttp: (s: net.Socket) => void adopted.push(s),
    trackTcp: (s: net.Socket) => void tracked.push(s),
  } as unknown as CaptureHost;
  return { host, adopted, tracked };
}

/** A capture-like server (allowHalfOpen, as the Listener makes capture servers) handing sockets to `onSocket`. */
async function captureServer(t: Tap.Test, onSocket: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer({ allowHalfOpen: true }, onSocket);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  return (srv.address() as net.AddressInfo).port;
}

/** An app: answers each connection with `name` and the peer, then closes. */
async function app(t: Tap.Test, host: string, port: number, name: string): Promise<number | undefined> {
  const srv = net.createServer((s) => s.end(`${name} ${s.remoteAddress}`));
  try {
    srv.listen(port, host);
    await once(srv, 'listening');
  } catch {
    return undefined;
  }
  t.teardown(() => srv.close());
  return (srv.address() as net.AddressInfo).port;
}

/** Connects, writes `data`, half-closes, reads to the end. */
async function exchange(port: number, data = ''): Promise<string> {
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  c.on('error', () => {});
  await once(c, 'connect');
  c.end(data);
  let out = '';
  c.setEncoding('utf8');
  c.on('data', (d: string) => (out += d));
  await Promise.race([once(c, 'close'), sleep(3000)]);
  c.destroy();
  return out;
}

declare namespace Tap {
  type Test = { teardown(fn: () => unknown): void };
}

t.test('inbound goes to the original destination from 127.0.0.6, not to 127.0.0.1', async (t) => {
  const podPort = await app(t, '127.0.0.2', 0, 'pod-ip-app');
  t.ok(podPort);
  const loop = await app(t, '127.0.0.1', podPort!, 'loopback-only-app');
  const f = fakeHost('INBOUND');
  const dst: OriginalDst = { address: '127.0.0.2', port: podPort! };
  const port = await captureServer(t, (s) => handleCapturedTo(s, f.host, dst));
  const got = await exchange(port);
  t.equal(got, 'pod-ip-app 127.0.0.6', 'reached the app on the original destination, from 127.0.0.6');
  if (loop === undefined) t.comment('127.0.0.1 port taken: loopback-only app not started');
});

t.test("inbound connections for the proxy's own ports are closed", async (t) => {
  for (const p of [15000, 15001, 15006, 15021, 15090]) {
    const f = fakeHost('INBOUND');
    const port = await captureServer(t, (s) => handleCapturedTo(s, f.host, { address: '127.0.0.2', port: p }));
    t.equal(await exchange(port, 'GET /stats HTTP/1.1\r\n\r\n'), '', `port ${p}: nothing answered`);
    t.equal(f.tracked.length, 0, `port ${p}: not proxied`);
  }
});

t.test('outbound without a redirect: local mode for loopback peers only', async (t) => {
  const f = fakeHost('OUTBOUND', 15001);
  let fakeRemote = '10.1.2.3';
  const port = await captureServer(t, (s) => {
    Object.defineProperty(s, 'remoteAddress', { value: fakeRemote });
    handleCapturedTo(s, f.host, undefined);
  });
  await exchange(port, 'GET http://x/ HTTP/1.1\r\n\r\n');
  t.equal(f.adopted.length, 0, 'a non-loopback peer is not proxied');
  fakeRemote = '127.0.0.1';
  const c = net.connect({ port, host: '127.0.0.1' });
  await once(c, 'connect');
  await sleep(50);
  t.equal(f.adopted.length, 1, 'a loopback peer gets the HTTP proxy (local mode)');
  c.destroy();
});

t.test('half-close is carried through the TCP proxy', async (t) => {
  // The upstream answers only after the client's FIN: "got <what it read>".
  const up = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('end', () => s.end(`got ${got}`));
  });
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  t.teardown(() => up.close());
  const upPort = (up.address() as net.AddressInfo).port;
  const port = await captureServer(t, (s) => proxyTcp(s, { host: '127.0.0.1', port: upPort, connectTimeoutMs: 1000, stats: undefined }));
  t.equal(await exchange(port, 'hello'), 'got hello', 'write + shutdown(WR) + read works');
});

t.test('half-close from the server side: its FIN does not end the client-to-server direction', async (t) => {
  let got = '';
  let ended!: () => void;
  const serverDone = new Promise<void>((r) => (ended = r));
  const up = net.createServer({ allowHalfOpen: true }, (s) => {
    s.end('banner'); // server-first, then shuts down its write side
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('end', () => ended());
  });
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  t.teardown(() => up.close());
  const upPort = (up.address() as net.AddressInfo).port;
  const port = await captureServer(t, (s) => proxyTcp(s, { host: '127.0.0.1', port: upPort, connectTimeoutMs: 1000, stats: undefined }));
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  c.setEncoding('utf8');
  let banner = '';
  c.on('data', (d: string) => (banner += d));
  await once(c, 'end');
  t.equal(banner, 'banner', 'the client read the banner and the FIN');
  c.end('reply after FIN');
  await Promise.race([serverDone, sleep(2000)]);
  t.equal(got, 'reply after FIN', 'the server still got what the client sent after its FIN');
  c.destroy();
});

t.test('a client that resets while being sniffed leaks no upstream connection', async (t) => {
  let accepted = 0;
  const up = net.createServer((s) => {
    accepted++;
    s.destroy();
  });
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  t.teardown(() => up.close());
  const upPort = (up.address() as net.AddressInfo).port;
  const f = fakeHost('OUTBOUND', 15001);
  const port = await captureServer(t, (s) => handleCapturedTo(s, f.host, { address: '127.0.0.1', port: upPort }));
  const c = net.connect({ port, host: '127.0.0.1' });
  await once(c, 'connect');
  c.write('GE'); // not enough to decide: the sniff waits
  await sleep(50);
  c.resetAndDestroy();
  await sleep(700); // past the sniff timeout
  t.equal(accepted, 0, 'nothing dialled upstream');
  t.equal(f.tracked.length, 0);
});

t.test('Istio TCP metrics on a captured connection: opened, bytes both ways, closed', async (t) => {
  const { IstioMetrics } = await import('../src/observability/istio/istio-metrics.js');
  const { peerFromNodeMetadata } = await import('../src/observability/istio/workload-peer.js');
  const podPort = await app(t, '127.0.0.2', 0, 'tcp-app');
  const metrics = new IstioMetrics('test');
  metrics.setLocal(peerFromNodeMetadata({ NAME: 'db-0', NAMESPACE: 'data', WORKLOAD_NAME: 'db', LABELS: { app: 'db' } }), 'sidecar~127.0.0.2~db-0.data~data.svc.cluster.local');
  const stats = { reporter: 'destination' as const, disableHostHeaderFallback: true, metrics: new Map(), dimensionTags: [], dimensionExprs: [] };
  const scope = metrics.httpScope(stats);
  const cluster = { name: `inbound|${podPort}||`, connectTimeoutMs: 1000, istioServices: [{ host: 'db.data.svc.cluster.local', name: 'db', namespace: 'data' }] };
  const f = fakeHost('INBOUND');
  (f.host.ctx as unknown as { istioStats: unknown; clusters: Map<string, unknown> }).istioStats = scope;
  (f.host.ctx as unknown as { clusters: Map<string, unknown> }).clusters.set(cluster.name, { config: cluster });
  const port = await captureServer(t, (s) => handleCapturedTo(s, f.host, { address: '127.0.0.2', port: podPort! }));
  const got = await exchange(port, 'ping');
  t.equal(got, 'tcp-app 127.0.0.6');
  await sleep(50);
  const text = metrics.render();
  const line = (name: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${name}{`));
  t.match(line('istio_tcp_connections_opened_total'), /reporter="destination",source_workload="unknown",.*destination_workload="db",destination_workload_namespace="data",.*destination_service="db\.data\.svc\.cluster\.local",.*request_protocol="tcp",response_flags="-",connection_security_policy="none"\} 1$/);
  t.match(line('istio_tcp_connections_closed_total'), / 1$/);
  t.match(line('istio_tcp_received_bytes_total'), / 4$/, 'ping: 4 bytes received from the downstream');
  t.match(line('istio_tcp_sent_bytes_total'), / 17$/, 'the answer: 17 bytes sent to the downstream');
  t.notMatch(text, /response_code/, 'TCP metrics carry no response_code');
});

t.test('outbound sniffing takes the HTTP/2 preface as HTTP for a destination the mesh knows, TCP otherwise', async (t) => {
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const known: OriginalDst = { address: '10.96.0.10', port: 8080 };
  const f = fakeHost('OUTBOUND', 15001);
  (f.host.ctx.hcm.routeConfig as unknown as { virtualHosts: unknown[] }).virtualHosts.push({ name: 'svc', domains: ['10.96.0.10:8080'], routes: [] });
  let dst: OriginalDst = known;
  const port = await captureServer(t, (s) => handleCapturedTo(s, f.host, dst));
  const c = net.connect({ port, host: '127.0.0.1' });
  await once(c, 'connect');
  c.write(preface.slice(0, 10)); // a partial preface: the sniff waits
  await sleep(50);
  t.equal(f.adopted.length, 0, 'not decided on a partial preface');
  c.write(preface.slice(10));
  await sleep(50);
  t.equal(f.adopted.length, 1, 'a full preface to a known destination goes to the connection manager');
  c.destroy();
  dst = { address: '10.9.9.9', port: 9999 };
  const d = net.connect({ port, host: '127.0.0.1' });
  d.on('error', () => {});
  await once(d, 'connect');
  d.write(preface);
  await sleep(100);
  t.equal(f.adopted.length, 1, 'an unknown destination is not handed to the connection manager');
  t.equal(f.tracked.length, 1, 'it is proxied as TCP (PassthroughCluster)');
  d.destroy();
});
