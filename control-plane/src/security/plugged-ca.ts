/**
 * A CA the user supplies, in Istio's "plugged-in certificates" layout: `ca-cert.pem` (the
 * signing certificate, usually an intermediate), `ca-key.pem`, `root-cert.pem` (the root peers
 * trust) and `cert-chain.pem` (the signing certificate up to the root). In --kube mode it is
 * Secret `cacerts` of the control plane's namespace, which wins over `istio-ca-secret`; in the
 * local mesh a folder (`--ca-dir`), where a new self-signed root is written when it is empty so
 * that restarts keep the same identities.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CA_SECRET_KEYS } from '@minimesh/mesh';
import { statusOf, type KubeApi, type KubeObject } from '../kube/kube-api.js';
import { CertificateAuthority, createRootCa } from './certificate-authority.js';

/** Istio's Secret of plugged-in CA certificates. */
export const PLUGGED_CA_SECRET = 'cacerts';

export interface PluggedCaFiles {
  readonly certPem: string;
  readonly keyPem: string;
  readonly rootCertPem?: string;
  readonly certChainPem?: string;
}

export class PluggedCaError extends Error {}

/** The files of a Secret's data (base64); PluggedCaError naming the missing key. */
export function pluggedCaFromSecret(secret: KubeObject): PluggedCaFiles {
  const ref = `Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? PLUGGED_CA_SECRET}`;
  const data = (secret.data ?? {}) as Record<string, unknown>;
  const opt = (k: string): string | undefined => (typeof data[k] === 'string' && data[k] !== '' ? Buffer.from(data[k] as string, 'base64').toString('utf8') : undefined);
  const certPem = opt(CA_SECRET_KEYS.cert);
  const keyPem = opt(CA_SECRET_KEYS.key);
  if (!certPem || !keyPem) throw new PluggedCaError(`${ref}: needs data.${CA_SECRET_KEYS.cert} and data.${CA_SECRET_KEYS.key} (and ${CA_SECRET_KEYS.root}, ${CA_SECRET_KEYS.chain})`);
  return { certPem, keyPem, rootCertPem: opt(CA_SECRET_KEYS.root), certChainPem: opt(CA_SECRET_KEYS.chain) };
}

/** Secret `cacerts` when it exists (undefined on 404). */
export async function readPluggedCaSecret(api: KubeApi, namespace: string): Promise<PluggedCaFiles | undefined> {
  try {
    return pluggedCaFromSecret(await api.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${PLUGGED_CA_SECRET}`));
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

export async function loadPluggedCa(f: PluggedCaFiles, where: string): Promise<CertificateAuthority> {
  try {
    return await CertificateAuthority.load(f.certPem, f.keyPem, { rootCertPem: f.rootCertPem, certChainPem: f.certChainPem });
  } catch (e) {
    throw new PluggedCaError(`${where}: ${(e as Error).message}`);
  }
}

/**
 * The local mesh's CA: loaded from `dir` when it holds ca-cert.pem, else a new root (written to
 * `dir` when one is given). `created` says which.
 */
export async function localCa(dir: string | undefined, trustDomain: string): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const file = (k: string): string => path.join(dir!, k);
  if (dir !== undefined && fs.existsSync(file(CA_SECRET_KEYS.cert))) {
    const read = (k: string, required: boolean): string | undefined => {
      try {
        return fs.readFileSync(file(k), 'utf8');
      } catch (e) {
        if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new PluggedCaError(`--ca-dir ${dir}: ${k}: ${(e as Error).message}`);
      }
    };
    const files = { certPem: read(CA_SECRET_KEYS.cert, true)!, keyPem: read(CA_SECRET_KEYS.key, true)!, rootCertPem: read(CA_SECRET_KEYS.root, false), certChainPem: read(CA_SECRET_KEYS.chain, false) };
    return { ca: await loadPluggedCa(files, `--ca-dir ${dir}`), created: false };
  }
  const root = await createRootCa({ org: trustDomain });
  if (dir !== undefined) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file(CA_SECRET_KEYS.key), root.keyPem, { mode: 0o600 });
    for (const k of [CA_SECRET_KEYS.cert, CA_SECRET_KEYS.root, CA_SECRET_KEYS.chain]) fs.writeFileSync(file(k), root.certPem);
  }
  return { ca: await CertificateAuthority.load(root.certPem, root.keyPem), created: true };
}
