/**
 * The TCP metadata exchange between a sidecar and peers that speak it on the wire:
 *   - a raw TLS peer built from the codec (as a sidecar of another mesh would be) against an
 *     inbound mTLS TCP chain that runs `istio.metadata_exchange`: ALPN `istio-peer-exchange`
 *     is selected, the server's preamble is the documented bytes (magic 0x3D230467, length,
 *     an Any of a google.protobuf.Struct holding `x-envoy-peer-metadata` and `-id`), the app
 *     gets the bytes after the peer's preamble only, and the server's TCP metrics carry the
 *     peer's workload, its verified principal and `mutual_tls`;
 *   - a peer that negotiates the ALPN but sends no preamble: its bytes reach the app untouched;
 *   - a peer that offers only `istio`: no preamble either way;
 *   - two sidecars (an outbound tcp_proxy over mTLS): the client's metrics name the server's
 *     workload and principal, and carry its own principal as `source_principal`.
 */
import t from 'tap';
import tls from 'node:tls';
import { lookupType } from '@minimesh/api';
import { structToJson } from '@minimesh/config';
import { makeCa, makeLeaf, spiffe } from './helpers/mesh-certs.js';
import { cluster, inboundTls, tcpProxyFilter } from './helpers/mtls-config.js';
import { startMeshProxy, startTcpApp } from './helpers/mtls-harness.js';
import { EXCHANGE_MAGIC, encodeTcpExchange } from '../src/observability/istio/tcp-metadata-exchange.js';
import { UNKNOWN_PEER, type WorkloadPeer } from '../src/observability/istio/workload-peer.js';
import type { TestLike } from './helpers/harness.js';

const SERVER_ID = spiffe('shop', 'store');
const CLIENT_ID = spiffe('web', 'frontend');
const SERVER_NODE = 'sidecar~127.0.0.1~store-5d4-abcde.shop~shop.svc.cluster.local';
const CLIENT_NODE = 'sidecar~127.0.0.2~frontend-77-xyz.web~web.svc.cluster.local';
const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

const frontend: WorkloadPeer = { ...UNKNOWN_PEER, name: 'frontend-77-xyz', namespace: 'web', workloadName: 'frontend', app: 'frontend', version: 'v2', canonicalService: 'frontend', canonicalRevision: 'v2', clusterId: 'Kubernetes' };

const mx = { name: 'istio.metadata_exchange', typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', value: { protocol: 'istio-peer-exchange', enable_discovery: true } } };
const stats = { name: 'istio.stats', typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/stats.PluginConfig', value: {} } };
const node = (id: string, ns: string, wl: string) => ({ id, cluster: `${wl}.${ns}`, metadata: { NAMESPACE: ns, WORKLOAD_NAME: wl, LABELS: { app: wl, version: 'v1' } } });

/** The server sidecar: an inbound STRICT listener whose mTLS TCP chain runs the exchange, then istio.stats, then tcp_proxy. */
async function startServer(t: TestLike, appPort: number) {
  const listener = {
    name: 'virtualInbound',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    traffic_direction: 'INBOUND',
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }],
    filter_chains: [
      {
        name: 'mtls-tcp',
        filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] },
        transport_socket: inboundTls(['istio-peer-exchange', 'h2', 'http/1.1']),
        filters: [mx, stats, tcpProxyFilter('inbound|7000||')],
      },
    ],
  };
  return startMeshProxy(t, () => ({ node: node(SERVER_NODE, 'shop', 'store'), static_resources: { listeners: [listener], clusters: [cluster('inbound|7000||', [appPort])] } }));
}

interface PeerResult {
  alpn: string | false | null;
  /** The server's preamble, as it came (empty when none). */
  preamble: Buffer;
  /** What came after it. */
  after: string;
}

/** A raw TLS peer: offers `alpn`, writes `first` (in pieces), reads what comes back for `waitMs`. */
function rawPeer(port: number, creds: { ca: string; cert: string; key: string }, alpn: string[], first: Buffer[], waitMs = 700): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: creds.ca, cert: creds.cert, key: creds.key, ALPNProtocols: alpn, checkServerIdentity: () => undefined });
    let got = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    s.on('secureConnect', async () => {
      for (const piece of first) {
        s.write(piece);
        await new Promise((r) => setTimeout(r, 5));
      }
      setTimeout(() => {
        const alpnProtocol = s.alpnProtocol;
        s.end();
        let preamble = Buffer.alloc(0);
        if (got.length >= 8 && got.readUInt32BE(0) === EXCHANGE_MAGIC) preamble = got.subarray(0, 8 + got.readUInt32BE(4));
        resolve({ alpn: alpnProtocol, preamble, after: got.subarray(preamble.length).toString() });
      }, waitMs);
    });
  });
}

/** The Struct of a preamble, decoded by hand (the byte format: header, then Any{type_url, value}). */
function decodePreamble(b: Buffer): { typeUrl: string; json: Record<string, unknown> } {
  const any = lookupType('type.googleapis.com/google.protobuf.Any');
  const a = any.toObject(any.decode(b.subarray(8))) as { type_url: string; value: Uint8Array };
  const struct = lookupType('type.googleapis.com/google.protobuf.Struct');
  return { typeUrl: a.type_url, json: structToJson(struct.toObject(struct.decode(a.value), { oneofs: true })) };
}

const series = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`));

t.test('a raw peer speaking the exchange against an inbound mTLS TCP chain', async (t) => {
  const root = await makeCa();
  const app = await startTcpApp(t);
  const server = await startServer(t, app.port);
  server.setSecrets(await makeLeaf(root, SERVER_ID), root);
  const leaf = await makeLeaf(root, CLIENT_ID);
  const creds = { ca: root.certPem, cert: leaf.certChainPem, key: leaf.keyPem };
  const port = server.port('virtualInbound');

  const mine = encodeTcpExchange(frontend, CLIENT_NODE);
  // The preamble in three pieces, the first app bytes glued to the last piece.
  const pieces = [mine.subarray(0, 3), mine.subarray(3, 20), Buffer.concat([mine.subarray(20), Buffer.from('ping')])];
  const r = await rawPeer(port, creds, ['istio-peer-exchange', 'istio'], pieces);
  t.equal(r.alpn, 'istio-peer-exchange', 'a chain that runs the exchange selects its ALPN');
  t.ok(r.preamble.length > 8, 'the server wrote its preamble first');
  t.equal(r.preamble.readUInt32BE(0), 0x3d230467, 'magic, big-endian');
  t.equal(r.preamble.readUInt32BE(4), r.preamble.length - 8, 'then the payload length, big-endian');
  const { typeUrl, json } = decodePreamble(r.preamble);
  t.equal(typeUrl, 'type.googleapis.com/google.protobuf.Struct', 'an Any of a Struct');
  t.equal(json['x-envoy-peer-metadata-id'], SERVER_NODE, 'the node id');
  const md = json['x-envoy-peer-metadata'] as Record<string, unknown>;
  t.equal(md.WORKLOAD_NAME, 'store');
  t.equal(md.NAMESPACE, 'shop');
  t.equal(md.IDENTITY, SERVER_ID, 'its identity, from the certificate it served');
  t.same((md.LABELS as Record<string, string>).app, 'store');
  t.equal(r.after, 'echo:ping', 'the app answered the bytes after our preamble');
  t.same(app.firstBytes.map((b) => b.toString()), ['ping'], 'the app never saw the preamble');

  await new Promise((r) => setTimeout(r, 200));
  const text = server.running.proxy.istio.render();
  const opened = series(text, 'istio_tcp_connections_opened_total');
  const ours = opened.find((l) => l.includes('source_workload="frontend"'));
  t.ok(ours, `a series from the exchanged workload: ${opened.join('\n')}`);
  t.match(ours, 'reporter="destination"');
  t.match(ours, 'source_workload_namespace="web"');
  t.match(ours, 'source_app="frontend"');
  t.match(ours, 'source_version="v2"');
  t.match(ours, `source_principal="${CLIENT_ID}"`, 'the principal from the certificate');
  t.match(ours, `destination_principal="${SERVER_ID}"`);
  t.match(ours, 'destination_workload="store"');
  t.match(ours, 'connection_security_policy="mutual_tls"');
  const received = series(text, 'istio_tcp_received_bytes_total').find((l) => l.includes('source_workload="frontend"'));
  const sent = series(text, 'istio_tcp_sent_bytes_total').find((l) => l.includes('source_workload="frontend"'));
  t.match(received, / 4$/, 'received bytes: the stream only (not the preamble)');
  t.match(sent, / 9$/, 'sent bytes: the stream only');
});

t.test('peers that do not speak the exchange', async (t) => {
  const root = await makeCa();
  const app = await startTcpApp(t);
  const server = await startServer(t, app.port);
  server.setSecrets(await makeLeaf(root, SERVER_ID), root);
  const leaf = await makeLeaf(root, CLIENT_ID);
  const creds = { ca: root.certPem, cert: leaf.certChainPem, key: leaf.keyPem };
  const port = server.port('virtualInbound');

  const noPreamble = await rawPeer(port, creds, ['istio-peer-exchange', 'istio'], [Buffer.from('hello, no preamble')]);
  t.equal(noPreamble.alpn, 'istio-peer-exchange');
  t.ok(noPreamble.preamble.length > 8, 'the server still wrote its own');
  t.equal(noPreamble.after, 'echo:hello, no preamble', 'a wrong magic: the bytes reach the app untouched');

  const plainMesh = await rawPeer(port, creds, ['istio'], [Buffer.from('just istio')]);
  t.equal(plainMesh.alpn, 'istio', 'a client without the exchange ALPN gets istio');
  t.equal(plainMesh.preamble.length, 0, 'and no preamble');
  t.equal(plainMesh.after, 'echo:just istio');

  await new Promise((r) => setTimeout(r, 200));
  const opened = series(server.running.proxy.istio.render(), 'istio_tcp_connections_opened_total');
  const unknown = opened.find((l) => l.includes('source_workload="unknown"'));
  t.ok(unknown, `no peer metadata: unknown workload: ${opened.join('\n')}`);
  t.match(unknown, `source_principal="${CLIENT_ID}"`, 'the principal still comes from the certificate');
  t.match(unknown, / 2$/, 'both connections');
});

t.test('two sidecars: the client reports the server workload and both principals', async (t) => {
  const root = await makeCa();
  const app = await startTcpApp(t);
  const server = await startServer(t, app.port);
  server.setSecrets(await makeLeaf(root, SERVER_ID), root);
  const out = {
    name: 'tcp-out',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [stats, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'store', cluster: 'store' } }] }],
  };
  const tlsOpts = { sni: 'outbound_.7000_._.store.shop.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'], sans: [SERVER_ID] };
  const client = await startMeshProxy(t, () => ({ node: node(CLIENT_NODE, 'web', 'frontend'), static_resources: { listeners: [out], clusters: [cluster('store', [server.port('virtualInbound')], tlsOpts)] } }));
  client.setSecrets(await makeLeaf(root, CLIENT_ID), root);
  const net = await import('node:net');
  const reply = await new Promise<string>((resolve) => {
    let got = '';
    const s = net.connect(client.port('tcp-out'), '127.0.0.1', () => s.write('over the mesh'));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got === 'echo:over the mesh') s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    setTimeout(() => s.destroy(), 3000);
  });
  t.equal(reply, 'echo:over the mesh', 'the app bytes only, both ways');
  t.same(app.firstBytes.map((b) => b.toString()), ['over the mesh']);
  await new Promise((r) => setTimeout(r, 200));
  const sent = series(client.running.proxy.istio.render(), 'istio_tcp_connections_opened_total').find((l) => l.includes('reporter="source"'));
  t.ok(sent, 'the client recorded the connection');
  t.match(sent, 'destination_workload="store"', 'the server workload, from its preamble');
  t.match(sent, 'destination_workload_namespace="shop"');
  t.match(sent, 'destination_app="store"');
  t.match(sent, `destination_principal="${SERVER_ID}"`, "the server's certificate");
  t.match(sent, `source_principal="${CLIENT_ID}"`, 'its own certificate');
  t.match(sent, 'source_workload="frontend"');
  const served = series(server.running.proxy.istio.render(), 'istio_tcp_connections_opened_total').find((l) => l.includes('reporter="destination"'));
  t.match(served, 'source_workload="frontend"', 'the server learned the client workload');
  t.match(served, `source_principal="${CLIENT_ID}"`);
  t.match(served, 'connection_security_policy="mutual_tls"');
});

/** A raw TLS server selecting `istio-peer-exchange`: writes `first` (in pieces) on connect, then echoes; keeps what it read. */
async function rawServer(t: TestLike, root: Awaited<ReturnType<typeof makeCa>>, first: Buffer[]): Promise<{ port: number; read: () => Buffer }> {
  const leaf = await makeLeaf(root, SERVER_ID);
  let read = Buffer.alloc(0);
  const srv = tls.createServer({ key: leaf.keyPem, cert: leaf.certChainPem, ca: root.certPem, requestCert: true, ALPNProtocols: ['istio-peer-exchange'] }, async (s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => (read = Buffer.concat([read, d])));
    for (const piece of first) {
      s.write(piece);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  return { port: (srv.address() as { port: number }).port, read: () => read };
}

t.test('the client side against raw servers: one that speaks the exchange, one that does not', async (t) => {
  const root = await makeCa();
  const store: WorkloadPeer = { ...UNKNOWN_PEER, name: 'store-1', namespace: 'shop', workloadName: 'store', app: 'store', canonicalService: 'store', clusterId: 'Kubernetes' };
  const pre = encodeTcpExchange(store, SERVER_NODE);
  const speaking = await rawServer(t, root, [pre.subarray(0, 5), pre.subarray(5), Buffer.from('welcome')]);
  const silent = await rawServer(t, root, [Buffer.from('hello from a server without the exchange')]);
  const out = (name: string, clusterName: string) => ({
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [stats, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: clusterName, cluster: clusterName } }] }],
  });
  const tlsOpts = { sni: 'outbound_.7000_._.store.shop.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'], sans: [SERVER_ID] };
  const client = await startMeshProxy(t, () => ({
    node: node(CLIENT_NODE, 'web', 'frontend'),
    static_resources: { listeners: [out('to-speaking', 'speaking'), out('to-silent', 'silent')], clusters: [cluster('speaking', [speaking.port], tlsOpts), cluster('silent', [silent.port], tlsOpts)] },
  }));
  client.setSecrets(await makeLeaf(root, CLIENT_ID), root);
  const net = await import('node:net');
  const talk = (port: number, send: string): Promise<string> =>
    new Promise((resolve) => {
      let got = '';
      const s = net.connect(port, '127.0.0.1', () => s.write(send));
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('error', () => {});
      setTimeout(() => {
        s.destroy();
        resolve(got);
      }, 600);
    });
  t.equal(await talk(client.port('to-speaking'), 'hi'), 'welcome', "the server's preamble is taken off; its bytes after it reach the app");
  const sentToSpeaking = speaking.read();
  t.equal(sentToSpeaking.readUInt32BE(0), EXCHANGE_MAGIC, 'the client wrote its preamble first');
  t.equal(sentToSpeaking.subarray(8 + sentToSpeaking.readUInt32BE(4)).toString(), 'hi', 'then the app bytes');
  const { json } = decodePreamble(sentToSpeaking);
  t.equal((json['x-envoy-peer-metadata'] as Record<string, unknown>).IDENTITY, CLIENT_ID, "the client's preamble names its identity");
  t.equal(await talk(client.port('to-silent'), 'hi'), 'hello from a server without the exchange', 'no preamble: the bytes pass untouched');
  await new Promise((r) => setTimeout(r, 200));
  const text = client.running.proxy.istio.render();
  t.ok(series(text, 'istio_tcp_connections_opened_total').some((l) => l.includes('destination_workload="store"') && l.includes('destination_app="store"')), 'the speaking server is named');
  t.ok(series(text, 'istio_tcp_connections_opened_total').some((l) => l.includes('destination_workload="unknown"') && l.includes(`destination_principal="${SERVER_ID}"`)), 'the silent one is unknown, its principal from its certificate');
});
