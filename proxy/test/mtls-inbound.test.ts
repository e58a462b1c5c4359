/**
 * Inbound listeners shaped as the mesh's PERMISSIVE and STRICT filter chains, on real
 * sockets with certificates made here: which chain each kind of client lands on, what it
 * gets, and the client's identity in the access log.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { makeCa, makeLeaf, spiffe } from './helpers/mesh-certs.js';
import { bootstrap, cluster, hcmFilter, inboundListener, routeTo } from './helpers/mtls-config.js';
import { plainExchange, startHttpApp, startMeshProxy, startTcpApp, tlsExchange } from './helpers/mtls-harness.js';
import { opensslMissing } from './helpers/test-ca.js';
import { tempDir, type TestLike } from './helpers/harness.js';
import type { ChainListener } from '../src/tls/chain-listener.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: svc\r\nconnection: close\r\n\r\n`;

async function setup(t: TestLike, mode: 'PERMISSIVE' | 'STRICT') {
  const ca = await makeCa();
  const server = await makeLeaf(ca, spiffe('default', 'server'));
  const client = await makeLeaf(ca, spiffe('default', 'client'));
  const app = await startHttpApp(t);
  const tcpApp = await startTcpApp(t);
  const proxy = await startMeshProxy(t, (log) => bootstrap([inboundListener(mode, [routeTo('/', 'inbound|8080||')], 'inbound|9000||', log)], [cluster('inbound|8080||', [app.port]), cluster('inbound|9000||', [tcpApp.port])]));
  proxy.setSecrets(server, ca);
  return { ca, server, client, app, tcpApp, proxy, port: proxy.port('virtualInbound') };
}

t.test('PERMISSIVE: plaintext HTTP and mTLS HTTP both reach the app; the mTLS peer is in the access log', async (t) => {
  const s = await setup(t, 'PERMISSIVE');
  const plain = await plainExchange(s.port, GET('/plain'));
  t.match(plain.reply, /^HTTP\/1\.1 200 OK/, 'plaintext HTTP is served (raw_buffer + http/1.1 chain)');
  t.match(plain.reply, /app:\/plain$/);
  const m = await tlsExchange({ port: s.port, ca: s.ca, leaf: s.client, alpn: ['istio-http/1.1', 'istio', 'http/1.1'] }, GET('/mtls'));
  t.equal(m.error, undefined, 'handshake ok');
  t.equal(m.alpn, 'http/1.1', 'the server picks http/1.1 from the mesh client list');
  t.match(m.serverSan ?? '', /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/server/, 'the server presents its workload identity');
  t.match(m.reply, /^HTTP\/1\.1 200 OK[\s\S]*app:\/mtls$/);
  const lines = await s.proxy.accessLog(2);
  t.same(
    lines.map((l) => [l.path, l.peer]),
    [
      ['/plain', '-'],
      ['/mtls', spiffe('default', 'client')],
    ],
    'the verified client URI SAN is the stream peer principal',
  );
  t.match(s.proxy.running.proxy.stats.renderText(), `listener.127.0.0.1_${s.port}.ssl.handshake: 1\n`, 'counted on /stats as Envoy names it');
  t.match(s.proxy.running.proxy.stats.renderPrometheus(), `envoy_listener_ssl_handshake{envoy_listener_address="127.0.0.1_${s.port}"} 1`);
});

t.test('PERMISSIVE: non-HTTP plaintext goes to the TCP chain; TLS without a mesh ALPN passes through untouched', async (t) => {
  const s = await setup(t, 'PERMISSIVE');
  const raw = await plainExchange(s.port, 'hello\n', 500);
  t.equal(raw.reply, 'echo:hello\n', 'raw TCP relayed to the app');
  const pass = await tlsExchange({ port: s.port, alpn: ['foo'] }, 'x', 500);
  t.ok(pass.error !== undefined || pass.alpn === undefined, 'the client does not get a TLS session from the proxy');
  const hello = s.tcpApp.firstBytes.find((b) => b[0] === 0x16);
  t.ok(hello, 'the app received the client hello itself (TLS not terminated)');
  const noAlpn = await tlsExchange({ port: s.port }, 'x', 500);
  t.ok(noAlpn.error !== undefined || noAlpn.alpn === undefined, 'TLS without ALPN is passed through as well');
  t.equal(s.tcpApp.firstBytes.filter((b) => b[0] === 0x16).length, 2);
});

t.test('PERMISSIVE: a TLS client offering the mesh ALPN without a certificate is refused', async (t) => {
  const s = await setup(t, 'PERMISSIVE');
  const r = await tlsExchange({ port: s.port, ca: s.ca, alpn: ['istio-http/1.1'] }, GET('/nocert'));
  t.notMatch(r.reply, /HTTP\/1\.1/, 'no HTTP response');
  t.ok(r.error !== undefined, `the handshake fails (${r.error})`);
  t.same(s.app.paths, [], 'the app saw nothing');
  const other = await makeCa('another root');
  const stranger = await makeLeaf(other, spiffe('default', 'stranger'));
  const r2 = await tlsExchange({ port: s.port, ca: s.ca, leaf: stranger, alpn: ['istio-http/1.1'] }, GET('/stranger'));
  t.notMatch(r2.reply, /HTTP\/1\.1/, 'a certificate from another root is refused');
  t.same(s.app.paths, []);
});

t.test('PERMISSIVE: mTLS with ALPN istio carries TCP; h2 offered picks h2', async (t) => {
  const s = await setup(t, 'PERMISSIVE');
  const tcp = await tlsExchange({ port: s.port, ca: s.ca, leaf: s.client, alpn: ['istio-peer-exchange', 'istio'] }, 'ping', 800);
  t.equal(tcp.alpn, 'istio', 'never istio-peer-exchange: the mesh TCP word is answered');
  t.equal(tcp.reply, 'echo:ping', 'mTLS TCP chain relays to the app');
  const h2 = await tlsExchange({ port: s.port, ca: s.ca, leaf: s.client, alpn: ['istio-h2', 'istio', 'h2'] }, '', 300);
  t.equal(h2.alpn, 'h2');
});

t.test('STRICT: plaintext is closed, mTLS is served', async (t) => {
  const s = await setup(t, 'STRICT');
  const plain = await plainExchange(s.port, GET('/plain'));
  t.equal(plain.reply, '', 'no response to plaintext');
  t.ok(plain.closed, 'the connection is closed');
  const m = await tlsExchange({ port: s.port, ca: s.ca, leaf: s.client, alpn: ['istio-http/1.1', 'istio', 'http/1.1'] }, GET('/mtls'));
  t.match(m.reply, /^HTTP\/1\.1 200 OK[\s\S]*app:\/mtls$/);
  t.same(s.app.paths, ['/mtls']);
  t.equal((s.proxy.running.proxy.listeners.get('virtualInbound') as ChainListener).tlsStats.no_filter_chain_match, 1, 'no_filter_chain_match');
});

t.test('certificates from files (tls_certificates, trusted_ca) instead of SDS', async (t) => {
  const ca = await makeCa();
  const server = await makeLeaf(ca, spiffe('default', 'server'));
  const client = await makeLeaf(ca, spiffe('default', 'client'));
  const app = await startHttpApp(t);
  const dir = tempDir();
  for (const [n, v] of [['cert.pem', server.certChainPem], ['key.pem', server.keyPem], ['root.pem', ca.certPem]]) writeFileSync(join(dir, n), v);
  const ts = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: join(dir, 'cert.pem') }, private_key: { filename: join(dir, 'key.pem') } }],
        validation_context: { trusted_ca: { filename: join(dir, 'root.pem') }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/default/' } }] },
      },
    },
  };
  const proxy = await startMeshProxy(t, (log) => ({
    static_resources: {
      listeners: [{ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ transport_socket: ts, filters: [hcmFilter('files', [routeTo('/', 'app')], log)] }] }],
      clusters: [cluster('app', [app.port])],
    },
  }));
  const ok = await tlsExchange({ port: proxy.port('l'), ca, leaf: client }, GET('/files'));
  t.match(ok.reply, /^HTTP\/1\.1 200 OK[\s\S]*app:\/files$/, 'served with the file certificate; no ALPN needed');
  const other = await makeLeaf(ca, spiffe('other-ns', 'client'));
  const refused = await tlsExchange({ port: proxy.port('l'), ca, leaf: other }, GET('/other'));
  t.notMatch(refused.reply, /HTTP\/1\.1/, 'a client whose SAN matches no matcher is refused');
  t.same(app.paths, ['/files']);
});

const noOpenssl = opensslMissing();
// CI installs openssl: there its absence is a failure, not a skip.
if (noOpenssl && process.env.CI === 'true') t.fail(noOpenssl);

t.test('openssl s_client with the mesh ALPN sees the server SPIFFE identity', { skip: noOpenssl }, async (t) => {
  const s = await setup(t, 'STRICT');
  writeFileSync(join(s.proxy.dir, 'client.pem'), s.client.certChainPem);
  writeFileSync(join(s.proxy.dir, 'client.key'), s.client.keyPem);
  const out = await new Promise<string>((resolve) => {
    const p = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${s.port}`, '-alpn', 'istio-http/1.1', '-cert', join(s.proxy.dir, 'client.pem'), '-key', join(s.proxy.dir, 'client.key')], { timeout: 5000 }, (_e, stdout) => resolve(stdout));
    p.stdin?.end('');
  });
  t.match(out, /ALPN protocol: istio-http\/1\.1|ALPN protocol: http\/1\.1/, 'an ALPN protocol was negotiated');
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  t.ok(pem, 'the server certificate is printed');
  t.match(new X509Certificate(pem!).subjectAltName ?? '', 'URI:spiffe://cluster.local/ns/default/sa/server');
});
