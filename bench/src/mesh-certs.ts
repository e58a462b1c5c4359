// The certificates of the "2 proxies, mTLS" scenario, made by the bench when it starts: a root
// and one workload certificate for each sidecar, shaped as the mesh's CA issues them (RSA-2048,
// the mesh default; empty subject; one URI SAN spiffe://cluster.local/ns/bench/sa/<name> in a
// critical SAN extension; serverAuth + clientAuth), written as PEM files the bootstraps name.
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import { createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const DAY_MS = 24 * 3600 * 1000;

/** The namespace of the bench's two workloads. */
export const BENCH_NAMESPACE = 'bench';

export function spiffeId(serviceAccount: string): string {
  return `spiffe://cluster.local/ns/${BENCH_NAMESPACE}/sa/${serviceAccount}`;
}

/** One sidecar's files: its certificate chain (leaf then root) and key. */
export interface WorkloadFiles {
  readonly spiffe: string;
  readonly certChain: string;
  readonly key: string;
}

/** The files of the mTLS scenario: the root every side trusts, and each side's certificate. */
export interface MeshCertFiles {
  readonly root: string;
  readonly client: WorkloadFiles;
  readonly server: WorkloadFiles;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

async function rsaKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(k: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

const pemOf = (c: x509.X509Certificate): string => new NodeX509(Buffer.from(c.rawData)).toString();

/** Make the root and the client and server certificates (valid one day) and write them into `dir`. */
export async function writeMeshCerts(dir: string, now = new Date()): Promise<MeshCertFiles> {
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + DAY_MS);
  const rootKeys = await rsaKeys();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'O=cluster.local',
    notBefore,
    notAfter,
    signingAlgorithm: RSA,
    keys: rootKeys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  const rootPem = pemOf(root);
  const rootFile = join(dir, 'root-cert.pem');
  writeFileSync(rootFile, rootPem);
  const leaf = async (sa: string): Promise<WorkloadFiles> => {
    const keys = await rsaKeys();
    const spiffe = spiffeId(sa);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: '',
      issuer: root.subjectName.toString(),
      notBefore,
      notAfter,
      signingAlgorithm: RSA,
      publicKey: keys.publicKey,
      signingKey: rootKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffe }], true),
      ],
    });
    const files = { spiffe, certChain: join(dir, `${sa}-cert-chain.pem`), key: join(dir, `${sa}-key.pem`) };
    writeFileSync(files.certChain, `${pemOf(cert).trim()}\n${rootPem.trim()}\n`);
    writeFileSync(files.key, await keyPem(keys.privateKey), { mode: 0o600 });
    return files;
  };
  return { root: rootFile, client: await leaf('client'), server: await leaf('server') };
}
