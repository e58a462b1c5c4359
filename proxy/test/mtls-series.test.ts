/**
 * Two proxies in series with mutual TLS between them, as two sidecars: the client side's
 * cluster has an UpstreamTlsContext (SNI `outbound_.8080_._.svc.ns.svc.cluster.local`, the
 * mesh ALPN, a URI SAN matcher, SDS `default` / `ROOTCA`), the server side an inbound
 * PERMISSIVE listener. HTTP/1.1 and an h2 gRPC-shaped call go across; a SAN mismatch is a
 * connect failure; a secret rotation loses no request; auto mTLS follows endpoint metadata.
 */
import t from 'tap';
import http from 'node:http';
import { makeCa, makeLeaf, spiffe, type TestCa } from './helpers/mesh-certs.js';
import { ALPN_H2, ALPN_HTTP11, bootstrap, cluster, inboundListener, outboundListener, routeTo, tcpProxyFilter } from './helpers/mtls-config.js';
import { httpGet, plainExchange, startHttpApp, startMeshProxy, startTcpApp, tlsExchange } from './helpers/mtls-harness.js';
import { startH2Server } from './helpers/h2.js';
import { h2Connect, h2PostWithTrailers } from './helpers/h2-client.js';
import type { TestLike } from './helpers/harness.js';

const SNI = 'outbound_.8080_._.svc.ns.svc.cluster.local';
const SERVER_ID = spiffe('ns', 'server');
const CLIENT_ID = spiffe('default', 'client');

async function setup(t: TestLike, ca?: TestCa) {
  const root = ca ?? (await makeCa());
  const app = await startHttpApp(t);
  const tcpApp = await startTcpApp(t);
  const grpcApp = await startH2Server(t, (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': `ok ${String(headers[':path'])}` }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
    });
  });
  const server = await startMeshProxy(t, (log) =>
    bootstrap(
      [inboundListener('PERMISSIVE', [routeTo('/grpc.', 'inbound|8081||'), routeTo('/', 'inbound|8080||')], 'inbound|9000||', log)],
      [cluster('inbound|8080||', [app.port]), cluster('inbound|8081||', [grpcApp.port], undefined, true), cluster('inbound|9000||', [tcpApp.port])],
    ),
  );
  server.setSecrets(await makeLeaf(root, SERVER_ID), root);
  const inbound = server.port('virtualInbound');
  const tls = { sni: SNI, alpn: ALPN_HTTP11, sans: [SERVER_ID] };
  const client = await startMeshProxy(t, (log) =>
    bootstrap(
      [outboundListener([routeTo('/grpc.', 'h2'), routeTo('/wrong-san', 'wrong-san'), routeTo('/auto-plain', 'auto-plain'), routeTo('/auto', 'auto'), routeTo('/', 'h1')], log)],
      [
        cluster('h1', [inbound], tls),
        cluster('h2', [inbound], { ...tls, alpn: ALPN_H2 }, true),
        cluster('wrong-san', [inbound], { ...tls, sans: [spiffe('ns', 'someone-else')] }),
        cluster('auto', [inbound], { ...tls, autoMtls: true }),
        cluster('auto-plain', [inbound], { ...tls, autoMtls: true }, false, false),
      ],
    ),
  );
  client.setSecrets(await makeLeaf(root, CLIENT_ID), root);
  return { root, app, server, client, outbound: client.port('outbound'), inbound };
}

t.test('HTTP/1.1 across mTLS: the server side sees the client identity', async (t) => {
  const s = await setup(t);
  const r = await httpGet(s.outbound, '/hello');
  t.equal(r.status, 200);
  t.equal(r.body, 'app:/hello');
  const lines = await s.server.accessLog(1);
  t.equal(lines[0].peer, CLIENT_ID, 'peerPrincipal on the server side is the client proxy identity');
  t.equal(lines[0].protocol, 'HTTP/1.1');
  const out = await s.client.accessLog(1);
  t.equal(out[0].peer, '-', 'the client side had a plaintext client');
  t.match(s.client.running.proxy.stats.renderText(), /cluster\.h1\.ssl\.handshake: 1\n/, 'the client cluster counts its handshake');
});

t.test('an h2 gRPC-shaped call across mTLS (ALPN istio-h2 -> h2)', async (t) => {
  const s = await setup(t);
  const session = h2Connect(t, s.outbound);
  const r = await h2PostWithTrailers(session, '/grpc.Echo/Call', '\0\0\0\0\0');
  t.equal(r.status, 200);
  t.equal(r.trailers['grpc-status'], '0');
  t.equal(r.trailers['grpc-message'], 'ok /grpc.Echo/Call');
  const lines = await s.server.accessLog(1);
  t.equal(lines[0].protocol, 'HTTP/2', 'the server side speaks HTTP/2 by the negotiated ALPN');
  t.equal(lines[0].peer, CLIENT_ID);
  session.close();
});

t.test('a server certificate whose URI SAN does not match is a connect failure', async (t) => {
  const s = await setup(t);
  const r = await httpGet(s.outbound, '/wrong-san');
  t.equal(r.status, 503);
  t.match(r.body, /upstream connect error or disconnect\/reset before headers\. reset reason: connection failure, transport failure reason: TLS_error/);
  const out = await s.client.accessLog(1);
  t.equal(out[0].flags, 'UF');
  t.equal(out[0].details, 'upstream_reset_before_response_started{connection_failure}');
  t.same(s.app.paths, [], 'nothing reached the app');
  t.match(s.client.running.proxy.stats.renderText(), /cluster\.wrong-san\.ssl\.connection_error: [1-9]/);
});

t.test('auto mTLS: an endpoint with tlsMode istio gets mTLS, one without gets plaintext', async (t) => {
  const s = await setup(t);
  t.equal((await httpGet(s.outbound, '/auto')).status, 200);
  t.equal((await httpGet(s.outbound, '/auto-plain')).status, 200);
  const lines = await s.server.accessLog(2);
  t.same(
    lines.map((l) => [l.path, l.peer]),
    [
      ['/auto', CLIENT_ID],
      ['/auto-plain', '-'],
    ],
  );
});

t.test('secret rotation while requests flow loses none; new connections get the new certificate', async (t) => {
  const s = await setup(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  let failures = 0;
  let done = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const r = await httpGet(s.outbound, `/r${done}`, agent).catch(() => ({ status: 0, body: '' }));
      if (r.status !== 200) failures++;
      done++;
    }
  };
  const workers = [worker(), worker(), worker(), worker()];
  await new Promise((r) => setTimeout(r, 200));
  const newServer = await makeLeaf(s.root, SERVER_ID);
  s.server.setSecrets(newServer, s.root);
  s.client.setSecrets(await makeLeaf(s.root, CLIENT_ID), s.root);
  // Close the pooled upstream connections now and then, so new handshakes happen during the run.
  for (const c of s.client.running.proxy.clusters.all()) for (const h of c.hosts) for (const p of h.pools()) p.closeIdle(Date.now() + 1, 0);
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(workers);
  t.ok(done > 20, `requests made (${done})`);
  t.equal(failures, 0, 'no request failed');
  const fresh = await tlsExchange({ port: s.inbound, ca: s.root, leaf: await makeLeaf(s.root, CLIENT_ID), alpn: ALPN_HTTP11 }, '', 300);
  const want = new (await import('node:crypto')).X509Certificate(newServer.certChainPem).fingerprint256;
  t.equal(fresh.serverFingerprint, want, 'a new connection is served with the rotated certificate');
});

t.test('TCP across mTLS (ALPN istio-peer-exchange, istio -> istio): bytes relayed both ways', async (t) => {
  const root = await makeCa();
  const tcpApp = await startTcpApp(t);
  const server = await startMeshProxy(t, (log) => bootstrap([inboundListener('STRICT', [routeTo('/', 'inbound|9000||')], 'inbound|9000||', log)], [cluster('inbound|9000||', [tcpApp.port])]));
  server.setSecrets(await makeLeaf(root, SERVER_ID), root);
  const client = await startMeshProxy(t, () =>
    bootstrap(
      [{ name: 'tcp-out', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [tcpProxyFilter('tcp-mesh')] }] }],
      [cluster('tcp-mesh', [server.port('virtualInbound')], { sni: SNI, alpn: ['istio-peer-exchange', 'istio'], sans: [SERVER_ID] })],
    ),
  );
  client.setSecrets(await makeLeaf(root, CLIENT_ID), root);
  const r = await plainExchange(client.port('tcp-out'), 'over-mtls', 800);
  t.equal(r.reply, 'echo:over-mtls');
  t.same(tcpApp.firstBytes.map((b) => b.toString()), ['over-mtls'], 'the app got the plaintext bytes (TLS ended at the server proxy)');
});

t.test('no secret yet: the client side answers a connect failure, the server side refuses', async (t) => {
  const root = await makeCa();
  const app = await startHttpApp(t);
  const server = await startMeshProxy(t, (log) => bootstrap([inboundListener('STRICT', [routeTo('/', 'inbound|8080||')], 'inbound|8080||', log)], [cluster('inbound|8080||', [app.port])]));
  const client = await startMeshProxy(t, (log) => bootstrap([outboundListener([routeTo('/', 'h1')], log)], [cluster('h1', [server.port('virtualInbound')], { sni: SNI, alpn: ALPN_HTTP11, sans: [SERVER_ID] })]));
  const r = await httpGet(client.port('outbound'), '/x');
  t.equal(r.status, 503, 'no default secret on the client side: connect failure');
  t.match(r.body, /TLS_error/);
  client.setSecrets(await makeLeaf(root, CLIENT_ID), root);
  const r2 = await httpGet(client.port('outbound'), '/y');
  t.equal(r2.status, 503, 'the server side has no secret: its handshake fails');
  server.setSecrets(await makeLeaf(root, SERVER_ID), root);
  const r3 = await httpGet(client.port('outbound'), '/z');
  t.equal(r3.status, 200, 'once both have their secrets, traffic flows');
  t.same(app.paths, ['/z']);
});
