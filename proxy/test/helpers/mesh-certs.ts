/**
 * For tests: a throwaway mesh CA (ECDSA P-256) and workload certificates shaped as the
 * mesh issues them: empty subject, one URI SAN `spiffe://cluster.local/ns/NS/sa/SA` in a
 * critical SAN extension, serverAuth + clientAuth. Made in memory with @peculiar/x509.
 * Not a test file (tap only runs `*.test.js`).
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import { webcrypto, createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

export interface TestCa {
  readonly certPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly cert: x509.X509Certificate;
}

export interface TestLeaf {
  /** Leaf then root. */
  readonly certChainPem: string;
  readonly keyPem: string;
}

async function keyPemOf(k: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

export async function makeCa(name = 'minimesh test root'): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Date.now().toString(16) + Math.floor(Math.random() * 1e6).toString(16),
    name: `O=minimesh test, CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  return { certPem: new NodeX509(Buffer.from(cert.rawData)).toString(), keys, cert };
}

export function spiffe(ns: string, sa: string): string {
  return `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
}

/** A workload certificate for `uri` (and optional DNS names) signed by `ca`. */
export async function makeLeaf(ca: TestCa, uri: string, dnsNames: readonly string[] = []): Promise<TestLeaf> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Date.now().toString(16) + Math.floor(Math.random() * 1e6).toString(16),
    subject: '',
    issuer: ca.cert.subjectName.toString(),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }, ...dnsNames.map((value) => ({ type: 'dns' as const, value }))], true),
    ],
  });
  return { certChainPem: `${cert.toString('pem')}\n${ca.certPem.trim()}\n`, keyPem: await keyPemOf(keys.privateKey) };
}
