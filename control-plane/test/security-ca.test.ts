/** The control plane's CA: the root, the serving certificate it signs, renewal, and certificates from --tls-dir. */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { CaError, CertificateAuthority, createRootCa, ROOT_TTL_MS, SERVING_TTL_MS } from '../src/security/certificate-authority.js';
import { renewalDue, ServingCertError, ServingCertKeeper } from '../src/security/serving-cert.js';
import { readTlsDir, TlsDirError } from '../src/security/tls-dir.js';
import { servingDnsNames } from '../src/security/kube-security.js';

const DAY = 24 * 3600 * 1000;
const certs = (chain: string): X509Certificate[] => chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new X509Certificate(p));

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-ca-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the root: self-signed RSA-2048, O=cluster.local, a CA, ten years', async (t) => {
  const before = Date.now();
  const { certPem, keyPem } = await createRootCa();
  const root = new X509Certificate(certPem);
  t.equal(root.subject, 'O=cluster.local');
  t.equal(root.issuer, 'O=cluster.local');
  t.ok(root.ca, 'basic constraints CA:TRUE');
  t.ok(root.verify(root.publicKey), 'self-signed');
  t.equal(root.publicKey.asymmetricKeyType, 'rsa');
  t.equal(root.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const life = new Date(root.validTo).getTime() - before;
  t.ok(Math.abs(life - ROOT_TTL_MS) < 2 * DAY, `valid about 3650 days (${Math.round(life / DAY)})`);
  t.ok(new Date(root.validFrom).getTime() <= before, 'valid from now (backdated for clock skew)');
  t.match(keyPem, /^-----BEGIN RSA PRIVATE KEY-----/, 'the key as Istio writes it (PKCS#1)');
  t.ok(root.checkPrivateKey(createPrivateKey(keyPem)));
  const other = await createRootCa({ org: 'example.org' });
  t.equal(new X509Certificate(other.certPem).subject, 'O=example.org');
  t.not(new X509Certificate(other.certPem).serialNumber, root.serialNumber, 'random serial numbers');
  t.ok(await createRootCa({ org: 'a,b' }).then(() => false, (e: unknown) => e instanceof CaError && /organization "a,b"/.test(e.message)), 'a bad organization is a CaError naming it');
});

t.test('a serving certificate for istiod\'s names chains to the root', async (t) => {
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const names = servingDnsNames('istio-system');
  t.same(names, ['istiod.istio-system.svc', 'istiod-remote.istio-system.svc', 'istio-pilot.istio-system.svc', 'istiod.istio-system.svc.cluster.local', 'istiod.istio-system', 'istiod']);
  const s = await ca.signServing({ dnsNames: names });
  const [leaf, chainRoot] = certs(s.certChainPem);
  const r = new X509Certificate(root.certPem);
  t.equal(chainRoot.fingerprint256, r.fingerprint256, 'the chain ends with the root');
  t.ok(leaf.verify(r.publicKey), 'signed by the root');
  t.ok(leaf.checkIssued(r), 'issued by the root');
  t.notOk(leaf.ca, 'not a CA');
  t.equal(leaf.subjectAltName, names.map((n) => `DNS:${n}`).join(', '));
  for (const n of names) t.equal(leaf.checkHost(n), n, `valid for ${n}`);
  t.equal(leaf.checkHost('istiod.default.svc'), undefined, 'not for another namespace');
  t.ok(leaf.checkPrivateKey(createPrivateKey(s.keyPem)), 'the key is the certificate\'s');
  t.match(leaf.keyUsage ?? [], ['1.3.6.1.5.5.7.3.1'], 'server auth');
  const life = new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime();
  t.ok(life <= SERVING_TTL_MS + 10 * 60_000, `one year at most (${Math.round(life / DAY)} days)`);
  const short = await ca.signServing({ dnsNames: ['istiod'], ttlMs: DAY });
  t.ok(short.notAfter.getTime() - Date.now() <= DAY, 'a shorter life when asked');
  const long = await ca.signServing({ dnsNames: ['istiod'], ttlMs: 5 * 365 * DAY });
  t.ok(long.notAfter.getTime() - Date.now() <= SERVING_TTL_MS, 'never more than a year');
  await t.rejects(ca.signServing({ dnsNames: [] }), /at least one DNS name/);
});

t.test('loading a CA says what is wrong with it', async (t) => {
  const root = await createRootCa();
  const other = await createRootCa();
  await t.rejects(CertificateAuthority.load('garbage', root.keyPem), /CA certificate: not a PEM certificate/);
  await t.rejects(CertificateAuthority.load(root.certPem, 'garbage'), /CA key: not a PEM private key/);
  await t.rejects(CertificateAuthority.load(root.certPem, other.keyPem), /CA key: does not match the CA certificate/);
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const leaf = await ca.signServing({ dnsNames: ['x'] });
  await t.rejects(CertificateAuthority.load(certs(leaf.certChainPem)[0].toString(), leaf.keyPem), /not a CA/);
  // A PKCS#8 key of the same root loads too (a Secret written by another tool).
  const pkcs8 = createPrivateKey(root.keyPem).export({ type: 'pkcs8', format: 'pem' }) as string;
  t.ok(await CertificateAuthority.load(root.certPem, pkcs8));
});

t.test('renewal: re-signed once two thirds of the life passed, with a change event', async (t) => {
  const notBefore = new Date('2030-01-01T00:00:00Z');
  const notAfter = new Date('2030-01-31T00:00:00Z');
  t.notOk(renewalDue({ notBefore, notAfter }, new Date('2030-01-20T00:00:00Z')));
  t.ok(renewalDue({ notBefore, notAfter }, new Date('2030-01-21T00:00:00Z')));
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const keeper = await ServingCertKeeper.create({ ca, dnsNames: ['istiod.istio-system.svc'], ttlMs: 30 * DAY });
  t.teardown(() => keeper.stop());
  const first = keeper.current;
  t.equal(first.source, 'ca');
  t.equal(first.caBundlePem, ca.rootPem);
  t.notOk(await keeper.refresh(new Date(Date.now() + 10 * DAY)), 'not yet due');
  t.equal(keeper.current, first);
  const changes: string[] = [];
  keeper.on('change', (c) => changes.push(c.certChainPem));
  t.ok(await keeper.refresh(new Date(Date.now() + 21 * DAY)), 're-signed when due');
  t.not(keeper.current.certChainPem, first.certChainPem);
  t.same(changes, [keeper.current.certChainPem]);
  t.ok(certs(keeper.current.certChainPem)[0].verify(new X509Certificate(root.certPem).publicKey));
});

t.test('--tls-dir: its certificate wins when present; problems name the file', async (t) => {
  const dir = tmpDir(t);
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const other = await CertificateAuthority.load(...Object.values(await createRootCa()) as [string, string]);
  // An empty mount (the Secret istiod-tls is optional): the CA signs one.
  const keeper = await ServingCertKeeper.create({ ca, tlsDir: dir, dnsNames: ['istiod'] });
  t.teardown(() => keeper.stop());
  t.equal(keeper.current.source, 'ca');
  const mounted = await other.signServing({ dnsNames: ['istiod.istio-system.svc'] });
  fs.writeFileSync(path.join(dir, 'tls.crt'), mounted.certChainPem);
  fs.writeFileSync(path.join(dir, 'tls.key'), mounted.keyPem);
  t.ok(await keeper.refresh(), 'files that appear are taken');
  t.equal(keeper.current.source, 'tls-dir');
  t.equal(keeper.current.certChainPem, mounted.certChainPem);
  t.equal(keeper.current.caBundlePem, ca.rootPem, 'without ca.crt clients still trust the CA root');
  fs.writeFileSync(path.join(dir, 'ca.crt'), other.rootPem);
  t.ok(await keeper.refresh());
  t.equal(keeper.current.caBundlePem, other.rootPem, 'ca.crt is what clients are told to trust');
  // A broken update keeps the last good one.
  const logs: string[] = [];
  const k2 = await ServingCertKeeper.create({ ca, tlsDir: dir, dnsNames: ['istiod'], log: (l) => logs.push(l) });
  t.teardown(() => k2.stop());
  fs.writeFileSync(path.join(dir, 'tls.key'), (await ca.signServing({ dnsNames: ['x'] })).keyPem);
  t.notOk(await k2.refresh());
  t.equal(k2.current.certChainPem, mounted.certChainPem);
  t.match(logs.join('\n'), /tls\.key: does not match the certificate in tls\.crt; keeping the current one/);

  t.ok((() => { try { readTlsDir(path.join(dir, 'nope')); } catch (e) { return e instanceof TlsDirError; } return false; })(), 'a TlsDirError');
  t.throws(() => readTlsDir(path.join(dir, 'nope')), /nope\/tls\.crt: missing/);
  fs.writeFileSync(path.join(dir, 'tls.crt'), 'not pem');
  t.throws(() => readTlsDir(dir), /tls\.crt: not a PEM certificate/);
  fs.writeFileSync(path.join(dir, 'tls.crt'), mounted.certChainPem);
  fs.writeFileSync(path.join(dir, 'tls.key'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  t.throws(() => readTlsDir(dir), /tls\.key: does not match/);
  // Folder mode: no CA, so the folder must hold one.
  t.ok(await ServingCertKeeper.create({ tlsDir: path.join(dir, 'empty'), dnsNames: [] }).then(() => false, (e: unknown) => e instanceof ServingCertError), 'a ServingCertError');
  await t.rejects(ServingCertKeeper.create({ tlsDir: path.join(dir, 'empty'), dnsNames: [] }), /has no tls\.crt and there is no CA/);
});
