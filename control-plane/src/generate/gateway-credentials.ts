/**
 * A Gateway server's `credentialName` -> the certificates it names, as the control plane
 * resolves them for a gateway proxy: the Secret of that name in the gateway proxy's own
 * namespace (`kubernetes.io/tls`: `tls.crt`, `tls.key`, `ca.crt`; generic: `cert`, `key`,
 * `cacert`), and for MUTUAL the CA from the Secret `NAME-cacert`, else the `ca.crt`/`cacert`
 * key of NAME itself. The SDS resource names are `kubernetes://NAME` and
 * `kubernetes://NAME-cacert`; a name may also carry its namespace (`kubernetes://NS/NAME`).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { secretValues, type Secret } from '@minimesh/kube';
import type { MeshModel } from '../model/mesh-model.js';

export const CREDENTIAL_PREFIX = 'kubernetes://';
export const CACERT_SUFFIX = '-cacert';

/** The SDS name of a credential: `kubernetes://NAME`. */
export const credentialResourceName = (credentialName: string): string => `${CREDENTIAL_PREFIX}${credentialName}`;
/** The SDS name of a credential's CA (MUTUAL): `kubernetes://NAME-cacert`. */
export const credentialCaResourceName = (credentialName: string): string => `${CREDENTIAL_PREFIX}${credentialName}${CACERT_SUFFIX}`;

/** `kubernetes://[NS/]NAME` -> the Secret it asks for, NS defaulting to the proxy's; undefined for other names. */
export function parseCredentialResourceName(name: string, proxyNamespace: string): { namespace: string; name: string; ca: boolean } | undefined {
  if (!name.startsWith(CREDENTIAL_PREFIX)) return undefined;
  const rest = name.slice(CREDENTIAL_PREFIX.length);
  const i = rest.indexOf('/');
  const [namespace, secret] = i < 0 ? [proxyNamespace, rest] : [rest.slice(0, i), rest.slice(i + 1)];
  if (!secret) return undefined;
  return { namespace, name: secret, ca: secret.endsWith(CACERT_SUFFIX) };
}

export interface ServerCredential {
  readonly certificateChain: string;
  readonly privateKey: string;
}

export type Resolved<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

const findSecret = (model: MeshModel, namespace: string, name: string): Secret | undefined =>
  (model.secrets ?? []).find((s) => s.metadata.name === name && (s.metadata.namespace ?? 'default') === namespace);

function checkCertificates(pem: string, what: string): string | undefined {
  try {
    new X509Certificate(pem);
    return undefined;
  } catch (e) {
    return `${what} is not a PEM certificate (${(e as Error).message})`;
  }
}

/** The server certificate and key of `credentialName` in `namespace`, checked (parsable, the key fits the certificate). */
export function resolveServerCredential(model: MeshModel, namespace: string, credentialName: string): Resolved<ServerCredential> {
  const s = findSecret(model, namespace, credentialName);
  if (s === undefined) return { ok: false, why: `Secret ${namespace}/${credentialName} does not exist` };
  const v = secretValues(s);
  const [certKey, keyKey] = v['tls.crt'] !== undefined || v['tls.key'] !== undefined ? ['tls.crt', 'tls.key'] : ['cert', 'key'];
  const cert = v[certKey];
  const key = v[keyKey];
  if (!cert || !key) return { ok: false, why: `Secret ${namespace}/${credentialName} has no certificate and key (keys tls.crt and tls.key, or cert and key; it has ${Object.keys(v).join(', ') || 'none'})` };
  const bad = checkCertificates(cert, `Secret ${namespace}/${credentialName} ${certKey}`);
  if (bad !== undefined) return { ok: false, why: bad };
  try {
    const pk = createPrivateKey(key);
    if (!new X509Certificate(cert).checkPrivateKey(pk)) return { ok: false, why: `Secret ${namespace}/${credentialName}: ${keyKey} is not the key of the certificate in ${certKey}` };
  } catch (e) {
    return { ok: false, why: `Secret ${namespace}/${credentialName} ${keyKey} is not a PEM private key (${(e as Error).message})` };
  }
  return { ok: true, value: { certificateChain: cert, privateKey: key } };
}

const caOf = (v: Record<string, string>): [string, string] | undefined =>
  v['ca.crt'] ? ['ca.crt', v['ca.crt']] : v.cacert ? ['cacert', v.cacert] : undefined;

/** The CA of `credentialName` (MUTUAL): Secret NAME-cacert, else NAME's own `ca.crt`/`cacert`. */
export function resolveCredentialCa(model: MeshModel, namespace: string, credentialName: string): Resolved<string> {
  const base = credentialName.endsWith(CACERT_SUFFIX) ? credentialName.slice(0, -CACERT_SUFFIX.length) : credentialName;
  for (const name of [`${base}${CACERT_SUFFIX}`, base]) {
    const s = findSecret(model, namespace, name);
    if (s === undefined) continue;
    const ca = caOf(secretValues(s));
    if (ca === undefined) continue;
    const bad = checkCertificates(ca[1], `Secret ${namespace}/${name} ${ca[0]}`);
    return bad === undefined ? { ok: true, value: ca[1] } : { ok: false, why: bad };
  }
  return { ok: false, why: `no CA for MUTUAL: neither Secret ${namespace}/${base}${CACERT_SUFFIX} nor Secret ${namespace}/${base} has ca.crt or cacert` };
}

/** An Envoy `Secret` (SDS) holding a certificate and key, as proto3 JSON (inline_bytes base64). */
export function tlsCertificateSecret(name: string, c: ServerCredential): Record<string, unknown> {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return { name, tls_certificate: { certificate_chain: { inline_bytes: b64(c.certificateChain) }, private_key: { inline_bytes: b64(c.privateKey) } } };
}

/** An Envoy `Secret` (SDS) holding trusted CAs. */
export function validationContextSecret(name: string, caPem: string): Record<string, unknown> {
  return { name, validation_context: { trusted_ca: { inline_bytes: Buffer.from(caPem).toString('base64') } } };
}
