/**
 * The CA's root and key live in Secret `istio-ca-secret` (type `istio.io/ca-root`) of the
 * control plane's namespace, as istiod keeps them: read it, or create it with a new root; a
 * 409 on create means another replica won the race, so it is read again and theirs is used.
 * A Secret that exists but lacks the keys is an error (it is never overwritten).
 */
import { CA_SECRET_KEYS, CA_SECRET_NAME, CA_SECRET_TYPE } from '@minimesh/mesh';
import { statusOf, type KubeApi, type KubeObject } from '../kube/kube-api.js';
import type { CertAndKey } from './certificate-authority.js';

export class CaSecretError extends Error {}

const secretPath = (ns: string): string => `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`;

/** The Secret as istiod writes it: the root is also `root-cert.pem`; the chain and workload key are empty. */
export function caSecret(namespace: string, ca: CertAndKey): KubeObject {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CA_SECRET_NAME, namespace },
    type: CA_SECRET_TYPE,
    data: { [CA_SECRET_KEYS.cert]: b64(ca.certPem), [CA_SECRET_KEYS.key]: b64(ca.keyPem), [CA_SECRET_KEYS.root]: b64(ca.certPem), [CA_SECRET_KEYS.chain]: '', [CA_SECRET_KEYS.workloadKey]: '' },
  };
}

/** The root and key a Secret holds; CaSecretError naming the missing key. */
export function caFromSecret(secret: KubeObject): CertAndKey {
  const ref = `Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? CA_SECRET_NAME}`;
  const data = (secret.data ?? {}) as Record<string, unknown>;
  const field = (k: string): string => {
    const v = data[k];
    if (typeof v !== 'string' || v === '') throw new CaSecretError(`${ref}: data.${k} is missing or empty`);
    return Buffer.from(v, 'base64').toString('utf8');
  };
  return { certPem: field(CA_SECRET_KEYS.cert), keyPem: field(CA_SECRET_KEYS.key) };
}

async function read(api: KubeApi, namespace: string): Promise<CertAndKey | undefined> {
  try {
    return caFromSecret(await api.get(`${secretPath(namespace)}/${CA_SECRET_NAME}`));
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

/**
 * The CA kept in the Secret: the existing one, else a new one from `create` stored there.
 * `created` says which. API errors are thrown (the caller retries).
 */
export async function loadOrCreateCaSecret(api: KubeApi, namespace: string, create: () => Promise<CertAndKey>): Promise<{ ca: CertAndKey; created: boolean }> {
  const existing = await read(api, namespace);
  if (existing) return { ca: existing, created: false };
  const ca = await create();
  try {
    await api.create(secretPath(namespace), caSecret(namespace, ca));
    return { ca, created: true };
  } catch (e) {
    if (statusOf(e) !== 409) throw e;
    const winner = await read(api, namespace);
    if (!winner) throw new CaSecretError(`Secret ${namespace}/${CA_SECRET_NAME}: create said it exists (409) but reading it found nothing`);
    return { ca: winner, created: false };
  }
}
