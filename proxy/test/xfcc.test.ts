/** x-forwarded-client-cert as Envoy writes it, for a certificate made here (no subject, a SPIFFE URI SAN). */
import t from 'tap';
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { currentXfccElement, forwardedClientCert, ISTIO_CLIENT_CERT_DETAILS, subjectAltNames } from '../src/security/xfcc.js';

x509.cryptoProvider.set(webcrypto as never);

async function cert(sans: x509.JsonGeneralName[], subject = ''): Promise<X509Certificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const c = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: alg,
    keys: keys as webcrypto.CryptoKeyPair,
    extensions: [new x509.SubjectAlternativeNameExtension(sans, true)],
  });
  return new X509Certificate(Buffer.from(c.rawData));
}

t.test("Istio's inbound element: By, Hash, empty Subject, URI", async (t) => {
  const peer = await cert([{ type: 'url', value: 'spiffe://cluster.local/ns/default/sa/sleep' }]);
  const el = currentXfccElement({ localUri: 'spiffe://cluster.local/ns/default/sa/httpbin', peer }, ISTIO_CLIENT_CERT_DETAILS);
  const hash = createHash('sha256').update(peer.raw).digest('hex');
  t.equal(el, `By=spiffe://cluster.local/ns/default/sa/httpbin;Hash=${hash};Subject="";URI=spiffe://cluster.local/ns/default/sa/sleep`);
});

t.test('DNS SANs repeat; Cert is URL-encoded PEM; a subject is quoted', async (t) => {
  const peer = await cert([{ type: 'dns', value: 'a.example.com' }, { type: 'dns', value: 'b.example.com' }, { type: 'url', value: 'spiffe://td/ns/x/sa/y' }], 'CN=client,O=Acme');
  t.same(subjectAltNames(peer), { uri: ['spiffe://td/ns/x/sa/y'], dns: ['a.example.com', 'b.example.com'] });
  const el = currentXfccElement({ localUri: '', peer }, { subject: true, uri: true, dns: true, cert: true, chain: false });
  t.match(el, /^Hash=[0-9a-f]{64};Cert="?-----BEGIN%20CERTIFICATE-----/);
  t.match(el, /;Subject="[^"]*CN=client[^"]*";URI=spiffe:\/\/td\/ns\/x\/sa\/y;DNS=a\.example\.com;DNS=b\.example\.com$/);
});

t.test('the modes', async (t) => {
  const cur = 'By=a;Hash=b;Subject="";URI=c';
  t.equal(forwardedClientCert('SANITIZE', 'x', cur), undefined);
  t.equal(forwardedClientCert('FORWARD_ONLY', 'x', cur), 'x');
  t.equal(forwardedClientCert('FORWARD_ONLY', 'x', undefined), undefined, 'no mTLS: removed');
  t.equal(forwardedClientCert('APPEND_FORWARD', 'x', cur), `x,${cur}`);
  t.equal(forwardedClientCert('APPEND_FORWARD', undefined, cur), cur);
  t.equal(forwardedClientCert('APPEND_FORWARD', 'x', undefined), undefined, 'no mTLS: removed');
  t.equal(forwardedClientCert('SANITIZE_SET', 'x', cur), cur);
  t.equal(forwardedClientCert('SANITIZE_SET', 'x', undefined), undefined);
  t.equal(forwardedClientCert('ALWAYS_FORWARD_ONLY', 'x', undefined), 'x');
});
