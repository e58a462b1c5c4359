/**
 * For tests: a throwaway CA and certificates signed by it (ECDSA P-256, @peculiar/x509): a
 * server certificate with DNS names (a gateway's credential) and a client certificate.
 * Also the YAML of a Secret holding them, as `kubectl create secret tls --dry-run -o yaml` writes it.
 * Not a test file (tap only runs `*.test.js`).
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
const serial = (): string => Date.now().toString(16) + Math.floor(Math.random() * 1e8).toString(16);

export interface Ca {
  readonly certPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly cert: x509.X509Certificate;
}

export interface Leaf {
  readonly certPem: string;
  readonly keyPem: string;
}

async function keyPem(k: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

export async function makeCa(cn: string): Promise<Ca> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=minimesh test, CN=${cn}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  return { certPem: new NodeX509(Buffer.from(cert.rawData)).toString(), keys, cert };
}

/** A certificate signed by `ca`: CN `cn`, DNS SANs `dns`, for serving (`server`) or for a client. */
export async function makeLeaf(ca: Ca, cn: string, dns: readonly string[], use: 'server' | 'client' = 'server'): Promise<Leaf> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn}`,
    issuer: ca.cert.subjectName.toString(),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([use === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(dns.length > 0 ? [new x509.SubjectAlternativeNameExtension(dns.map((value) => ({ type: 'dns' as const, value })))] : []),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A `kubernetes.io/tls` Secret's YAML (base64 `data`), optionally with `ca.crt`. */
export function tlsSecretYaml(name: string, namespace: string, leaf: Leaf, caPem?: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(leaf.certPem)}
  tls.key: ${b64(leaf.keyPem)}
${caPem !== undefined ? `  ca.crt: ${b64(caPem)}\n` : ''}---
`;
}

/** A generic Secret holding only a CA (`NAME-cacert`, key `cacert`), written with stringData. */
export function caSecretYaml(name: string, namespace: string, caPem: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
type: Opaque
stringData:
  cacert: ${JSON.stringify(caPem)}
---
`;
}
