/**
 * The TLS inspector's ClientHello parser on real ClientHellos (captured from node:tls
 * clients), fed byte by byte and split across records, and http_inspector's guesses.
 */
import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { inspectHttp, peekClientHello } from '../src/tls/client-hello.js';

/** The first bytes a TLS client sends (its ClientHello record). */
async function captureHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  let got: Buffer = Buffer.alloc(0);
  const server = net.createServer((s) => {
    s.on('data', (d) => (got = Buffer.concat([got, d])));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 100);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, ...opts });
  c.on('error', () => {});
  await new Promise((r) => setTimeout(r, 200));
  c.destroy();
  server.close();
  return got;
}

t.test('SNI and ALPN come out of a real ClientHello; fewer bytes ask for more', async (t) => {
  const hello = await captureHello({ servername: 'outbound_.8080_._.Svc.ns.svc.cluster.local', ALPNProtocols: ['istio-http/1.1', 'istio', 'http/1.1'] });
  t.same(peekClientHello(hello), { kind: 'tls', serverName: 'outbound_.8080_._.svc.ns.svc.cluster.local', alpn: ['istio-http/1.1', 'istio', 'http/1.1'] });
  for (const n of [1, 3, 5, 40, hello.length - 1]) t.same(peekClientHello(hello.subarray(0, n)), { kind: 'more' }, `${n} bytes`);
  const bare = await captureHello({});
  const r = peekClientHello(bare);
  t.equal(r.kind, 'tls');
  if (r.kind === 'tls') t.same([r.serverName, r.alpn], ['', []], 'no SNI, no ALPN');
});

t.test('a ClientHello split over two TLS records is joined', async (t) => {
  const hello = await captureHello({ servername: 'a.example', ALPNProtocols: ['h2'] });
  const body = hello.subarray(5);
  const cut = 30;
  const rec = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
  const split = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
  t.same(peekClientHello(split.subarray(0, 5 + cut + 3)), { kind: 'more' });
  t.same(peekClientHello(split), { kind: 'tls', serverName: 'a.example', alpn: ['h2'] });
});

t.test('plaintext and garbage are not TLS', async (t) => {
  t.same(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'plain' });
  t.same(peekClientHello(Buffer.from([0x16, 0x01, 0x00])), { kind: 'plain' }, 'bad record version');
  t.same(peekClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])), { kind: 'plain' }, 'a handshake that is not a ClientHello');
  t.same(peekClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03])), { kind: 'plain' }, 'a truncated ClientHello body');
});

t.test('http_inspector: h2c preface, HTTP/1.x request lines, anything else', async (t) => {
  t.same(inspectHttp(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), ['h2c']);
  t.equal(inspectHttp(Buffer.from('PRI * HTTP/2')), 'more');
  t.same(inspectHttp(Buffer.from('GET /a HTTP/1.1\r\nhost: x\r\n')), ['http/1.1']);
  t.same(inspectHttp(Buffer.from('POST / HTTP/1.0\r\n')), ['http/1.0']);
  t.equal(inspectHttp(Buffer.from('GET /long-path')), 'more');
  t.same(inspectHttp(Buffer.from('hello\r\n')), []);
  t.same(inspectHttp(Buffer.from('\x00\x01binary')), []);
});
