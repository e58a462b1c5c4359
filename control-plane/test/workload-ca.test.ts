/**
 * CreateCertificate over real gRPC on the control plane's ADS server, in the local mesh
 * (--workload-tokens): certificates carry only the caller's SPIFFE identity (whatever the CSR
 * asks), chain to the root, live 24 h by default or what was asked up to the max; missing or
 * unknown tokens are UNAUTHENTICATED, bad CSRs and lifetimes INVALID_ARGUMENT. Then the CA
 * kept in --ca-dir, and a plugged-in intermediate.
 */
import 'reflect-metadata';
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { ControlPlane } from '../src/server/control-plane.js';
import { parseControlPlaneArgs } from '../src/server/control-plane-args.js';
import { CertificateAuthority, createRootCa } from '../src/security/certificate-authority.js';
import { localCa } from '../src/security/plugged-ca.js';
import { signWorkloadCsr } from '../src/security/workload-cert.js';
import { createCertificate, makeCsr } from './helpers/ca-call.js';

const HOUR = 3600 * 1000;
const uris = (pem: string): string[] => (new X509Certificate(pem).subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));

async function localPlane(t: { teardown(fn: () => unknown): void }, extra: { meshConfigFile?: string; caDir?: string } = {}): Promise<{ cp: ControlPlane; addr: string; tokens: string; logs: string[] }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-wca-'));
  const cfg = path.join(tmp, 'config');
  fs.mkdirSync(cfg);
  const tokens = path.join(tmp, 'tokens.json');
  fs.writeFileSync(tokens, JSON.stringify({ 'token-a': { namespace: 'shop', serviceAccount: 'cart' }, 'token-b': { namespace: 'shop', serviceAccount: 'payments' } }));
  const logs: string[] = [];
  const any = { host: '127.0.0.1', port: 0 };
  const cp = new ControlPlane({ source: { kind: 'folder', dir: cfg }, xdsAddress: any, debugAddress: any, dashboardAddress: 'off', local: true, workloadTokensFile: tokens, print: (l) => logs.push(l), ...extra });
  await cp.start();
  t.teardown(async () => {
    await cp.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  return { cp, addr: `127.0.0.1:${cp.xdsPort}`, tokens, logs };
}

t.test('local mesh: certificates for the caller\'s identity only', async (t) => {
  const { cp, addr, tokens } = await localPlane(t);
  t.ok(cp.security!.workloadCa.enabled, 'the CA is on with --workload-tokens');

  const a = await createCertificate(addr, { token: 'token-a' });
  t.equal(a.code, undefined, `issued (${a.details ?? ''})`);
  const chain = a.chain!;
  t.equal(chain.length, 2, 'leaf then root');
  const leaf = new X509Certificate(chain[0]);
  const root = new X509Certificate(chain[1]);
  t.same(uris(chain[0]), ['spiffe://cluster.local/ns/shop/sa/cart'], 'the only SAN is the caller\'s SPIFFE id');
  t.equal(leaf.subject, undefined, 'empty subject');
  t.ok(leaf.verify(root.publicKey), 'signed by the root');
  t.ok(root.ca, 'the last certificate is the CA');
  const life = new Date(leaf.validTo).getTime() - Date.now();
  t.ok(life > 23.9 * HOUR && life <= 24 * HOUR, `24 h by default (${Math.round(life / 1000)} s)`);
  const px = new x509.X509Certificate(chain[0]);
  const san = px.getExtension(x509.SubjectAlternativeNameExtension)!;
  t.equal(san.critical, true, 'the SAN extension is critical (empty subject)');
  t.same(px.getExtension(x509.ExtendedKeyUsageExtension)?.usages.sort(), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth].sort(), 'server and client auth');

  const asked = await createCertificate(addr, { token: 'token-a', csr: await makeCsr(['spiffe://cluster.local/ns/shop/sa/payments', 'spiffe://cluster.local/ns/istio-system/sa/istiod']) });
  t.same(uris(asked.chain![0]), ['spiffe://cluster.local/ns/shop/sa/cart'], 'the SANs a CSR asks for are ignored');
  t.equal(new X509Certificate(asked.chain![0]).subject, undefined, 'and its subject too');

  const b = await createCertificate(addr, { token: 'token-b' });
  t.same(uris(b.chain![0]), ['spiffe://cluster.local/ns/shop/sa/payments'], 'pod B\'s token gives B\'s identity');
  t.not(new X509Certificate(b.chain![0]).serialNumber, leaf.serialNumber, 'a new serial each time');

  const short = await createCertificate(addr, { token: 'token-a', ttlSeconds: 60 });
  const shortLife = new Date(new X509Certificate(short.chain![0]).validTo).getTime() - Date.now();
  t.ok(shortLife > 50_000 && shortLife <= 60_000, `validity_duration honoured (${shortLife} ms)`);

  const none = await createCertificate(addr, {});
  t.equal(none.code, grpc.status.UNAUTHENTICATED, 'no token: UNAUTHENTICATED');
  t.match(none.details, /no credential.*Bearer/);
  const unknown = await createCertificate(addr, { token: 'token-z' });
  t.equal(unknown.code, grpc.status.UNAUTHENTICATED, 'unknown token: UNAUTHENTICATED');
  t.match(unknown.details, /not one the local mesh gave/);
  const basic = await createCertificate(addr, { authorization: 'Basic dXNlcjpwYXNz' });
  t.equal(basic.code, grpc.status.UNAUTHENTICATED, 'not a bearer token');
  t.match(basic.details, /not "Bearer <token>"/);

  const garbage = await createCertificate(addr, { token: 'token-a', csr: 'hello' });
  t.equal(garbage.code, grpc.status.INVALID_ARGUMENT, 'a bad CSR: INVALID_ARGUMENT');
  t.match(garbage.details, /csr: expected a PEM certificate request/);
  const mangled = (await makeCsr()).replace(/\n[A-Za-z0-9+/]{10}/, '\nAAAAAAAAAA');
  const broken = await createCertificate(addr, { token: 'token-a', csr: mangled });
  t.equal(broken.code, grpc.status.INVALID_ARGUMENT, `a corrupted CSR: INVALID_ARGUMENT (${broken.details})`);
  const long = await createCertificate(addr, { token: 'token-a', ttlSeconds: 91 * 24 * 3600 });
  t.equal(long.code, grpc.status.INVALID_ARGUMENT, 'above MAX_WORKLOAD_CERT_TTL: INVALID_ARGUMENT');
  t.match(long.details, /above the maximum workload certificate lifetime of 7776000s/);

  // The tokens file is read on every call: a pod added later is known at once.
  fs.writeFileSync(tokens, JSON.stringify({ 'token-c': { namespace: 'web', serviceAccount: 'front' } }));
  t.same(uris((await createCertificate(addr, { token: 'token-c' })).chain![0]), ['spiffe://cluster.local/ns/web/sa/front'], 'a token added later');
  t.equal((await createCertificate(addr, { token: 'token-a' })).code, grpc.status.UNAUTHENTICATED, 'a token removed is refused');
  fs.writeFileSync(tokens, '{not json');
  const bad = await createCertificate(addr, { token: 'token-c' });
  t.equal(bad.code, grpc.status.UNAUTHENTICATED);
  t.match(bad.details, /cannot check tokens: workload tokens .*tokens\.json/, 'a broken tokens file is named');
});

t.test('the trust domain comes from the mesh config', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-wca-mesh-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const mesh = path.join(tmp, 'mesh.yaml');
  fs.writeFileSync(mesh, 'trustDomain: example.org\n');
  const { addr } = await localPlane(t, { meshConfigFile: mesh });
  t.same(uris((await createCertificate(addr, { token: 'token-b' })).chain![0]), ['spiffe://example.org/ns/shop/sa/payments']);
});

t.test('without --workload-tokens the local control plane issues nothing', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-wca-off-'));
  const any = { host: '127.0.0.1', port: 0 };
  const cp = new ControlPlane({ source: { kind: 'folder', dir: tmp }, xdsAddress: any, debugAddress: any, dashboardAddress: 'off', print: () => {} });
  await cp.start();
  t.teardown(async () => {
    await cp.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const r = await createCertificate(`127.0.0.1:${cp.xdsPort}`, { token: 'x' });
  t.equal(r.code, grpc.status.UNAVAILABLE);
  t.match(r.details, /not enabled: the local mesh needs --workload-tokens/);
});

t.test('--ca-dir keeps the root across restarts', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-cadir-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = await localCa(dir, 'cluster.local');
  t.ok(first.created);
  t.equal(fs.statSync(path.join(dir, 'ca-key.pem')).mode & 0o777, 0o600, 'the key is private');
  const second = await localCa(dir, 'cluster.local');
  t.notOk(second.created);
  t.equal(second.ca.rootPem, first.ca.rootPem, 'the same root');
  fs.writeFileSync(path.join(dir, 'ca-key.pem'), 'junk');
  await t.rejects(localCa(dir, 'cluster.local'), /--ca-dir .*: CA key: not a PEM private key/);
});

t.test('a plugged-in intermediate: leaf, intermediate, root', async (t) => {
  const root = await createRootCa({ org: 'Example Root' });
  const rootCa = await CertificateAuthority.load(root.certPem, root.keyPem);
  // An intermediate signed by the root (a CA certificate made with the root's key).
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const interPem = await rootCa.signLeaf({
    subject: 'O=Example Intermediate',
    publicKey: keys.publicKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 365 * 24 * HOUR),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const interKey = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-plugged-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'ca-cert.pem'), interPem);
  fs.writeFileSync(path.join(dir, 'ca-key.pem'), interKey);
  fs.writeFileSync(path.join(dir, 'root-cert.pem'), root.certPem);
  fs.writeFileSync(path.join(dir, 'cert-chain.pem'), `${interPem}\n${root.certPem}`);
  const { ca, created } = await localCa(dir, 'cluster.local');
  t.notOk(created);
  t.equal(ca.rootPem, new X509Certificate(root.certPem).toString(), 'the root peers trust is root-cert.pem');
  const chain = await signWorkloadCsr(ca, { csrPem: await makeCsr(), identity: { namespace: 'ns1', serviceAccount: 'sa1' }, trustDomain: 'cluster.local', ttlMs: HOUR });
  t.equal(chain.length, 3, 'leaf, intermediate, root');
  const [l, i, r] = chain.map((p) => new X509Certificate(p));
  t.ok(l.verify(i.publicKey), 'the leaf is signed by the intermediate');
  t.ok(i.verify(r.publicKey), 'the intermediate by the root');
  t.equal(r.toString(), ca.rootPem, 'the chain ends with the root');
});

t.test('flags', async (t) => {
  const o = parseControlPlaneArgs(['--config-dir', '.', '--workload-tokens', '/tmp/t.json', '--ca-dir', '/tmp/ca'], {});
  t.match(o, { workloadTokensFile: '/tmp/t.json', caDir: '/tmp/ca' });
  t.throws(() => parseControlPlaneArgs(['--kube', '--workload-tokens', 'x'], {}), /not with --kube/);
  t.throws(() => parseControlPlaneArgs(['--config-dir', '.', '--ca-dir', 'x'], {}), /--ca-dir needs --workload-tokens/);
  t.throws(() => parseControlPlaneArgs(['--config-dir', '.'], { DEFAULT_WORKLOAD_CERT_TTL: 'soon' }), /DEFAULT_WORKLOAD_CERT_TTL: expected a duration/);
  t.throws(() => parseControlPlaneArgs(['--config-dir', '.'], { DEFAULT_WORKLOAD_CERT_TTL: '100h', MAX_WORKLOAD_CERT_TTL: '10h' }), /is above MAX_WORKLOAD_CERT_TTL/);
});
