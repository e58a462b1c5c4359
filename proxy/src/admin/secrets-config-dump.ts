/**
 * Envoy's SecretsConfigDump (admin /config_dump) of the proxy's secrets: each one under
 * `dynamic_active_secrets` with its name, version and time, the `Secret` resource as Envoy
 * holds it (`tls_certificate` with the chain; the private key shown as Envoy's `[redacted]`,
 * or `validation_context.trusted_ca`). It is rendered when the dump is serialised, so it always
 * shows the secrets of the moment (a rotation needs no new config).
 */
import type { SecretStore, TlsSecret } from '../security/secret-store.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** What Envoy prints in place of a private key. */
export const REDACTED = b64('[redacted]');

type Json = Record<string, unknown>;

export function secretResource(name: string, s: TlsSecret): Json {
  const out: Json = { '@type': SECRET_TYPE_URL, name };
  if (s.certificateChain !== undefined) {
    out.tls_certificate = { certificate_chain: { inline_bytes: b64(s.certificateChain) }, ...(s.privateKey !== undefined ? { private_key: { inline_bytes: REDACTED } } : {}) };
  }
  if (s.trustedCa !== undefined) out.validation_context = { trusted_ca: { inline_bytes: b64(s.trustedCa) } };
  return out;
}

/** The SecretsConfigDump of the store now. */
export function secretsConfigDump(store: SecretStore): Json {
  return {
    '@type': `${ADMIN}SecretsConfigDump`,
    dynamic_active_secrets: store.names().map((name) => {
      const s = store.get(name)!;
      const at = s.lastUpdated.toISOString();
      return { name, version_info: at, last_updated: at, secret: secretResource(name, s) };
    }),
  };
}

/** A config_dump entry that renders `secretsConfigDump(store)` whenever it is serialised. */
export function liveSecretsEntry(store: SecretStore): Json {
  return { toJSON: () => secretsConfigDump(store) };
}
