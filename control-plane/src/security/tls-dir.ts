/**
 * A serving certificate from files (`--tls-dir`; in a pod, Secret `istiod-tls` mounted at
 * /var/run/secrets/istiod/tls): `tls.crt` (the chain), `tls.key`, and optionally `ca.crt`,
 * the root clients are to trust (else the CA's root is published).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';

/** Where Istio mounts the optional Secret `istiod-tls`; the default `--tls-dir` in --kube mode. */
export const ISTIOD_TLS_DIR = '/var/run/secrets/istiod/tls';

export interface TlsFiles {
  readonly certChainPem: string;
  readonly keyPem: string;
  /** `ca.crt` when present. */
  readonly caPem: string | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export class TlsDirError extends Error {}

/** Whether `dir` holds a `tls.crt` (the Secret is optional: an empty mount means "sign one"). */
export function hasTlsFiles(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'tls.crt'));
}

function read(dir: string, name: string, required: boolean): string | undefined {
  const file = path.join(dir, name);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TlsDirError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
}

/** Reads and checks the files: PEM, the key matches the first certificate. Throws TlsDirError naming the file. */
export function readTlsDir(dir: string): TlsFiles {
  const certChainPem = read(dir, 'tls.crt', true)!;
  const keyPem = read(dir, 'tls.key', true)!;
  const caPem = read(dir, 'ca.crt', false);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certChainPem);
  } catch (e) {
    throw new TlsDirError(`${path.join(dir, 'tls.crt')}: not a PEM certificate (${(e as Error).message})`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new TlsDirError(`${path.join(dir, 'tls.key')}: not a PEM private key (${(e as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) throw new TlsDirError(`${path.join(dir, 'tls.key')}: does not match the certificate in tls.crt`);
  if (caPem !== undefined) {
    try {
      new X509Certificate(caPem);
    } catch (e) {
      throw new TlsDirError(`${path.join(dir, 'ca.crt')}: not a PEM certificate (${(e as Error).message})`);
    }
  }
  return { certChainPem, keyPem, caPem, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) };
}
