/**
 * TLS egress by SNI in the local mesh (Istio's "Accessing external services" with a TLS
 * ServiceEntry, and VirtualService `tls` routes): a client sidecar (127.0.0.120) from an
 * in-process control plane; "external" TLS servers on 127.0.0.121-123 with a test CA's
 * certificate for www.example.org, a.example.org, b.example.org and split.example.org, reached
 * through STATIC ServiceEntry endpoints (nothing is ever resolved). A client asks its sidecar
 * for `CONNECT host:443`, then does TLS inside the tunnel with SNI and verifies the server's
 * certificate: the sidecar passes the bytes through and picks the destination by SNI.
 * The YAML is control-plane/test/golden/tls-egress-sni/input.yaml with the servers' ports.
 */
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { once } from 'node:events';
import { log } from '@minimesh/proxy/log';
import { CertificateAuthority, createRootCa } from '@minimesh/control-plane/security/certificate-authority';
import { startLocalMesh, until } from './helpers/local-mesh.js';

log.level = 'warn';
const CLIENT_IP = '127.0.0.120';
const INPUT = path.join(import.meta.dirname, '../../../../control-plane/test/golden/tls-egress-sni/input.yaml');
const NAMES = ['www.example.org', 'a.example.org', 'b.example.org', 'split.example.org', 'stand-in-a.example.internal', 'stand-in-b.example.internal'];

/** A CONNECT tunnel through the client sidecar; resolves once its 200 is read. */
async function tunnel(authority: string): Promise<{ socket: net.Socket; head: string }> {
  const socket = net.connect({ host: CLIENT_IP, port: 15001 });
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const [d] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, d]);
    const i = buf.indexOf('\r\n\r\n');
    if (i >= 0) {
      if (i + 4 < buf.length) socket.unshift(buf.subarray(i + 4));
      return { socket, head: buf.toString('latin1', 0, i) };
    }
  }
}

/** TLS through a CONNECT to `authority` with SNI `sni`, the test CA trusted: what the server says. */
async function viaTls(authority: string, sni: string, ca: string): Promise<string> {
  const { socket, head } = await tunnel(authority);
  if (!/^HTTP\/1\.1 200 /.test(head)) {
    socket.destroy();
    throw new Error(`CONNECT ${authority}: ${head.split('\r\n')[0]}`);
  }
  const s = tls.connect({ socket, servername: sni, ca });
  s.setTimeout(5000, () => s.destroy(new Error('timeout')));
  let out = '';
  s.on('data', (d: Buffer) => (out += d.toString()));
  await once(s, 'end');
  s.destroy();
  return out;
}

t.test('TLS egress by SNI through a sidecar (CONNECT host:443)', async (t) => {
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const cert = await ca.signServing({ dnsNames: NAMES });
  /** An "external" TLS server that names itself and the SNI it was asked for. */
  const standIn = async (ip: string, name: string): Promise<number> => {
    const server = tls.createServer({ cert: cert.certChainPem, key: cert.keyPem }, (s) => s.end(`${name} ${(s as tls.TLSSocket & { servername?: string }).servername ?? ''}`));
    server.listen(0, ip);
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    return (server.address() as net.AddressInfo).port;
  };
  const ports = { www: await standIn('127.0.0.121', 'www'), a: await standIn('127.0.0.122', 'stand-in-a'), b: await standIn('127.0.0.123', 'stand-in-b') };
  const yaml = fs
    .readFileSync(INPUT, 'utf8')
    .replace(/address: 127\.0\.0\.121, ports: \{ tls: 18443 \}/, `address: 127.0.0.121, ports: { tls: ${ports.www} }`)
    .replace(/address: 127\.0\.0\.122, ports: \{ tls: 18443 \}/, `address: 127.0.0.122, ports: { tls: ${ports.a} }`)
    .replace(/address: 127\.0\.0\.123, ports: \{ tls: 18443 \}/, `address: 127.0.0.123, ports: { tls: ${ports.b} }`);
  const mesh = await startLocalMesh(t, { 'input.yaml': yaml });
  await mesh.sidecar({ ip: CLIENT_IP, name: 'sleep', namespace: 'egress', labels: { app: 'sleep' } });
  const caPem = root.certPem;
  await until('the sidecar routes www.example.org', async () => (await viaTls('www.example.org:443', 'www.example.org', caPem)) === 'www www.example.org', 15000);

  await t.test('a TLS ServiceEntry with no VirtualService passes through by SNI; the certificate verifies', async (t) => {
    t.equal(await viaTls('www.example.org:443', 'www.example.org', caPem), 'www www.example.org', 'the server saw the client SNI: bytes untouched, its certificate verified for www.example.org');
    // The tunnelled ClientHello's SNI picks the chain, not the CONNECT authority (as Envoy's 0.0.0.0_443).
    t.equal(await viaTls('a.example.org:443', 'www.example.org', caPem), 'www www.example.org', 'SNI www.example.org inside a CONNECT to a.example.org goes to www.example.org');
    const otherRoot = (await createRootCa()).certPem;
    await t.rejects(viaTls('www.example.org:443', 'www.example.org', otherRoot), 'a client that does not trust the test CA fails the handshake (the sidecar never terminates TLS)');
  });

  await t.test('a tls route with two sniHosts goes to two different stand-ins', async (t) => {
    t.equal(await viaTls('a.example.org:443', 'a.example.org', caPem), 'stand-in-a a.example.org');
    t.equal(await viaTls('b.example.org:443', 'b.example.org', caPem), 'stand-in-b b.example.org');
  });

  await t.test('a weighted tls route splits connections 75/25', async (t) => {
    const n = 80;
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push(await viaTls('split.example.org:443', 'split.example.org', caPem));
    t.same([...new Set(seen)].sort(), ['stand-in-a split.example.org', 'stand-in-b split.example.org'], 'both stand-ins, nothing else');
    const a = seen.filter((r) => r.startsWith('stand-in-a ')).length;
    // Binomial(80, 0.75): mean 60, sd 3.9; ±5 sd.
    t.ok(a >= 40 && a <= 79, `stand-in-a got ${a} of ${n} (75 % expected)`);
  });

  await t.test('an SNI no chain claims goes where the CONNECT authority says (the passthrough)', async (t) => {
    t.equal(await viaTls('www.example.org:443', 'stand-in-b.example.internal', caPem), 'stand-in-b stand-in-b.example.internal', 'a claimed name: its own chain');
    const { socket, head } = await tunnel('www.example.org:443');
    t.match(head, /^HTTP\/1\.1 200 /);
    const s = tls.connect({ socket, servername: 'other.example.org', ca: caPem, checkServerIdentity: () => undefined });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    await once(s, 'end');
    s.destroy();
    t.equal(out, 'www other.example.org', 'unknown SNI: the CONNECT route (outbound|443||www.example.org) takes the tunnel');
  });
});
