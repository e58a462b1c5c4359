/**
 * Istio's TCP metadata exchange on a real socket (proxy/src/tcp/peer-exchange.ts): this side
 * writes its preamble at once and takes the peer's off the front of the stream, whatever
 * the reads cut it into; a wrong magic, an oversized length, an early end or no preamble in
 * time leave no peer metadata and every byte read untouched; the read is bounded.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { EXCHANGE_MAGIC, MAX_EXCHANGE_BYTES, TcpExchangeReader, encodeTcpExchange } from '../src/observability/istio/tcp-metadata-exchange.js';
import { UNKNOWN_PEER, type WorkloadPeer } from '../src/observability/istio/workload-peer.js';
import { exchangePeerMetadata, type PeerExchangeResult } from '../src/tcp/peer-exchange.js';
import type { TestLike } from './helpers/harness.js';

const client: WorkloadPeer = { ...UNKNOWN_PEER, name: 'sleep-1', namespace: 'test', workloadName: 'sleep', app: 'sleep', canonicalService: 'sleep', clusterId: 'Kubernetes' };
const server: WorkloadPeer = { ...UNKNOWN_PEER, name: 'store-1', namespace: 'test', workloadName: 'store', app: 'store', canonicalService: 'store', clusterId: 'Kubernetes' };
const SERVER_ID = 'sidecar~127.0.0.1~store-1.test~test.svc.cluster.local';

/** A connected pair: `near` runs the exchange, `far` is the test's peer. */
async function pair(t: TestLike): Promise<{ near: net.Socket; far: net.Socket }> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const far = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const [near] = (await once(srv, 'connection')) as [net.Socket];
  await once(far, 'connect');
  far.on('error', () => {});
  near.on('error', () => {});
  t.teardown(() => {
    far.destroy();
    near.destroy();
    srv.close();
  });
  return { near, far };
}

const run = (near: net.Socket, timeoutMs?: number): Promise<PeerExchangeResult> =>
  new Promise((resolve) => exchangePeerMetadata(near, encodeTcpExchange(server, SERVER_ID), resolve, timeoutMs));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('a preamble cut across many reads: the peer, and the bytes after it', async (t) => {
  const { near, far } = await pair(t);
  const got: Buffer[] = [];
  far.on('data', (d: Buffer) => got.push(d));
  const result = run(near);
  const bytes = Buffer.concat([encodeTcpExchange(client, 'sidecar~127.0.0.2~sleep-1.test~test.svc.cluster.local'), Buffer.from('first app bytes')]);
  // Split every 5 bytes, each written after the last was read (Nagle off: separate reads).
  far.setNoDelay(true);
  for (let i = 0; i < bytes.length; i += 5) {
    far.write(bytes.subarray(i, i + 5));
    await sleep(2);
  }
  const r = await result;
  t.equal(r.failure, undefined);
  t.equal(r.peer?.workloadName, 'sleep');
  t.equal(r.peer?.namespace, 'test');
  t.equal(r.peer?.app, 'sleep');
  t.equal(r.nodeId, 'sidecar~127.0.0.2~sleep-1.test~test.svc.cluster.local');
  // What came after the preamble in the reads so far, then the rest from the paused socket.
  near.resume();
  let rest = r.rest.toString();
  near.on('data', (d: Buffer) => (rest += d.toString()));
  await sleep(50);
  t.equal(rest, 'first app bytes', 'the stream after the preamble, untouched');
  t.equal(r.read, bytes.length - 'first app bytes'.length, 'the preamble length read');
  // Our preamble went out at once, before the peer's had arrived whole.
  const mine = new TcpExchangeReader().feed(Buffer.concat(got));
  t.equal(mine.state, 'done');
  if (mine.state === 'done') t.equal(mine.peer?.workloadName, 'store', 'the peer read our workload');
  t.equal(r.wrote, encodeTcpExchange(server, SERVER_ID).length);
});

t.test('a wrong magic: no peer, every byte passed on untouched', async (t) => {
  const { near, far } = await pair(t);
  const result = run(near);
  far.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  const r = await result;
  t.equal(r.peer, undefined);
  t.match(r.failure, /bad magic/);
  t.equal(r.rest.toString(), 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', 'nothing taken off the stream');
  t.equal(r.read, 0);
});

t.test('an oversized length: decided on the header alone (bounded), bytes passed on', async (t) => {
  const { near, far } = await pair(t);
  const result = run(near);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(EXCHANGE_MAGIC, 0);
  header.writeUInt32BE(MAX_EXCHANGE_BYTES + 1, 4);
  far.write(header);
  // Nothing more is sent: a reader that waited for the whole payload would hang here.
  const r = await Promise.race([result, sleep(2000).then(() => undefined)]);
  t.ok(r, 'decided without the payload');
  t.equal(r?.peer, undefined);
  t.match(r?.failure, /over/);
  t.same(r?.rest, header, 'the header passed on as it came');
});

t.test('the stream ends inside the preamble; no preamble in time', async (t) => {
  const a = await pair(t);
  const ended = run(a.near);
  const cut = encodeTcpExchange(client, 'x').subarray(0, 12);
  a.far.end(cut);
  const r = await ended;
  t.match(r.failure, /ended/);
  t.same(r.rest, cut, 'what arrived is passed on');
  const b = await pair(t);
  const start = Date.now();
  const r2 = await run(b.near, 150);
  t.match(r2.failure, /within 150 ms/);
  t.ok(Date.now() - start >= 140, 'waited the timeout');
  t.equal(r2.rest.length, 0);
});

t.test('a server chain selects istio-peer-exchange only when it runs the exchange', async (t) => {
  const { selectAlpn } = await import('../src/tls/downstream-tls.js');
  const server = ['istio-peer-exchange', 'h2', 'http/1.1'];
  const client = ['istio-peer-exchange', 'istio'];
  t.equal(selectAlpn(server, client, 'tcp'), 'istio', 'no exchange on the chain: the mesh TCP word');
  t.equal(selectAlpn(server, client, 'tcp', 'istio-peer-exchange'), 'istio-peer-exchange', 'the chain runs it: its ALPN');
  t.equal(selectAlpn(server, ['istio'], 'tcp', 'istio-peer-exchange'), 'istio', 'a client that does not offer it gets istio');
});
