/**
 * forward_client_cert_details compiled from the connection manager, and applied to the head
 * sent upstream: SANITIZE (the default) removes a client's header, APPEND_FORWARD appends
 * this proxy's element on mTLS and removes the header on plain text.
 */
import t from 'tap';
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { compileClientCertDetails } from '@minimesh/config/client-cert-runtime';
import { Errors } from '@minimesh/config/errors';
import type { HttpConnectionManagerRt } from '@minimesh/config/runtime';
import { upstreamXfcc } from '../src/security/downstream-client-cert.js';

x509.cryptoProvider.set(webcrypto as never);

async function peerCert(): Promise<X509Certificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const c = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: '',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: alg,
    keys: keys as webcrypto.CryptoKeyPair,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://cluster.local/ns/a/sa/client' }], true)],
  });
  return new X509Certificate(Buffer.from(c.rawData));
}

t.test('compiling the two HCM fields', async (t) => {
  const errors = new Errors();
  const rt = compileClientCertDetails({ forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { subject: { value: true }, uri: true, dns: true } } as never, 'hcm', errors);
  t.same(errors.list, [], 'no errors');
  t.same(rt, { mode: 'APPEND_FORWARD', set: { subject: true, uri: true, dns: true, cert: false, chain: false } });
  t.equal(compileClientCertDetails({} as never, 'hcm', errors), undefined, 'nothing set: SANITIZE (undefined)');
  const bad = new Errors();
  compileClientCertDetails({ forward_client_cert_details: 'KEEP' } as never, 'hcm', bad);
  t.match(JSON.stringify(bad.list), /hcm.forward_client_cert_details/, 'an unknown mode names the field');
});

t.test('the header sent upstream', async (t) => {
  const peer = await peerCert();
  const rt: HttpConnectionManagerRt['clientCert'] = { mode: 'APPEND_FORWARD', set: { subject: true, uri: true, dns: true, cert: false, chain: false } };
  const info = { peer, localUri: 'spiffe://cluster.local/ns/b/sa/server' };
  t.equal(upstreamXfcc(undefined, 'By=x;URI=forged', info), undefined, 'SANITIZE removes what the client sent');
  t.equal(upstreamXfcc(rt, 'By=x;URI=forged', undefined), undefined, 'APPEND_FORWARD on plain text: removed');
  const v = upstreamXfcc(rt, 'By=a;URI=b', info)!;
  t.match(v, /^By=a;URI=b,By=spiffe:\/\/cluster.local\/ns\/b\/sa\/server;Hash=[0-9a-f]{64};Subject="";URI=spiffe:\/\/cluster.local\/ns\/a\/sa\/client$/, 'APPEND_FORWARD on mTLS: appended');
});
