/**
 * --kube mode against the fake API server: CreateCertificate on the secure xDS port (TLS,
 * istiod's names), the caller proved by a TokenReview of its projected token (audience
 * istio-ca); a token of another audience or none the API server knows is UNAUTHENTICATED.
 * Then Istio's plugged-in `cacerts` Secret wins over istio-ca-secret.
 */
import 'reflect-metadata';
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Obj } from '@minimesh/kube-fake';
import { CertificateAuthority, createRootCa } from '../src/security/certificate-authority.js';
import { createCertificate, makeCsr } from './helpers/ca-call.js';
import { kubeStand, until } from './helpers/kube-fake-setup.js';

const uris = (pem: string): string[] => (new X509Certificate(pem).subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const SERVER_NAME = 'istiod.istio-system.svc';

t.test('TokenReview proves the caller', async (t) => {
  const s = await kubeStand(() => {});
  t.teardown(async () => {
    await s.cp.stop();
    await s.api.stop();
  });
  await s.started;
  t.ok(await until(() => s.cp.secureXdsPort > 0 && s.cp.security!.workloadCa.enabled), 'the CA and the secure port are up');
  const rootPem = s.cp.security!.kubeSecurity!.ca.rootPem;
  const addr = `127.0.0.1:${s.cp.secureXdsPort}`;
  const tls = { rootPem, serverName: SERVER_NAME };

  const sleep = s.api.tokens.issue('default', 'sleep');
  const httpbin = s.api.tokens.issue('default', 'httpbin');
  const r = await createCertificate(addr, { token: sleep, tls, csr: await makeCsr(['spiffe://cluster.local/ns/default/sa/httpbin']) });
  t.equal(r.code, undefined, `issued (${r.details ?? ''})`);
  t.same(uris(r.chain![0]), ['spiffe://cluster.local/ns/default/sa/sleep'], 'sleep\'s token gives sleep\'s identity, not the one its CSR asks for');
  t.equal(r.chain![r.chain!.length - 1].trim(), rootPem.trim(), 'the chain ends with the root of istio-ca-secret');
  t.ok(s.api.requests.some((q) => q === 'POST /apis/authentication.k8s.io/v1/tokenreviews'), 'a TokenReview was posted');
  t.same(uris((await createCertificate(addr, { token: httpbin, tls })).chain![0]), ['spiffe://cluster.local/ns/default/sa/httpbin']);

  const other = s.api.tokens.issue('default', 'sleep', ['https://kubernetes.default.svc']);
  const wrongAud = await createCertificate(addr, { token: other, tls });
  t.equal(wrongAud.code, grpc.status.UNAUTHENTICATED, 'a token for another audience is refused');
  t.match(wrongAud.details, /not accepted by the API server: .*audiences/);
  const unknown = await createCertificate(addr, { token: 'forged', tls });
  t.equal(unknown.code, grpc.status.UNAUTHENTICATED);
  t.match(unknown.details, /invalid bearer token/);
  s.api.tokens.revoke(sleep);
  t.equal((await createCertificate(addr, { token: sleep, tls })).code, grpc.status.UNAUTHENTICATED, 'a revoked token is refused');
  t.equal((await createCertificate(addr, { tls })).code, grpc.status.UNAUTHENTICATED, 'no token');
});

t.test('plugged-in cacerts wins over istio-ca-secret', async (t) => {
  const root = await createRootCa({ org: 'Plugged Root' });
  const rootCa = await CertificateAuthority.load(root.certPem, root.keyPem);
  const s = await kubeStand((api) => {
    api.write('ADDED', 'Secret', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cacerts', namespace: 'istio-system' },
      type: 'Opaque',
      data: { 'ca-cert.pem': b64(root.certPem), 'ca-key.pem': b64(root.keyPem), 'root-cert.pem': b64(root.certPem), 'cert-chain.pem': b64(root.certPem) },
    } as unknown as Obj);
  });
  t.teardown(async () => {
    await s.cp.stop();
    await s.api.stop();
  });
  await s.started;
  t.ok(await until(() => s.cp.secureXdsPort > 0 && s.cp.security!.workloadCa.enabled));
  t.equal(s.cp.security!.kubeSecurity!.ca.rootPem, rootCa.rootPem, 'the CA is the plugged-in one');
  t.ok(s.logs.some((l) => /loaded the CA from Secret istio-system\/cacerts/.test(l)), 'and the log says so');
  t.equal(s.api.get('Secret', 'istio-system', 'istio-ca-secret'), undefined, 'no self-signed CA Secret is created');
  const token = s.api.tokens.issue('shop', 'cart');
  const r = await createCertificate(`127.0.0.1:${s.cp.secureXdsPort}`, { token, tls: { rootPem: rootCa.rootPem, serverName: SERVER_NAME } });
  t.same(uris(r.chain![0]), ['spiffe://cluster.local/ns/shop/sa/cart']);
  t.ok(new X509Certificate(r.chain![0]).verify(new X509Certificate(root.certPem).publicKey), 'signed by the plugged-in CA');
});
