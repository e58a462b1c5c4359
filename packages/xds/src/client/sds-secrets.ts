/**
 * SDS over the ADS stream, the proxy's side: which secrets its listeners name (Envoy asks
 * for exactly those), and a DiscoveryResponse of `Secret`s decoded into PEM. The proxy's own
 * workload secrets (`default`, `ROOTCA`) come from its certificate agent, not from here.
 */
import { decodeResource, type AnyLike, type DataSource, type TlsSecretResource } from '@minimesh/api';
import type { ConfigError, ListenerRt } from '@minimesh/config';

/** The secrets the proxy's certificate agent provides (Istio's agent serves these itself). */
export const AGENT_SECRETS: readonly string[] = ['default', 'ROOTCA'];

/** A secret as received: PEM text. */
export interface ReceivedSecret {
  readonly name: string;
  readonly certificateChain?: string;
  readonly privateKey?: string;
  readonly trustedCa?: string;
  readonly version: string;
}

/** The SDS names the listeners' TLS contexts use, less `local` ones, sorted. */
export function listenerSecretNames(listeners: Iterable<ListenerRt>, local: readonly string[] = AGENT_SECRETS): string[] {
  const names = new Set<string>();
  for (const l of listeners) {
    for (const c of l.filterChains ?? []) {
      const common = c.tls?.common;
      for (const n of common?.certificateSds ?? []) names.add(n);
      if (common?.validation?.sdsSecret !== undefined) names.add(common.validation.sdsSecret);
    }
  }
  return [...names].filter((n) => n !== '' && !local.includes(n)).sort();
}

function pem(d: DataSource | null | undefined): string | undefined {
  if (!d) return undefined;
  if (d.inline_string) return d.inline_string;
  if (d.inline_bytes && d.inline_bytes.length > 0) return Buffer.from(d.inline_bytes).toString('utf8');
  return undefined;
}

/** Decodes a response's `Secret`s; a secret without inline PEM is an error (the server sends inline material). */
export function decodeSecrets(typeUrl: string, anys: readonly AnyLike[], version: string): { ok: true; secrets: ReceivedSecret[] } | { ok: false; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const secrets: ReceivedSecret[] = [];
  anys.forEach((any, i) => {
    const path = `resources[${i}]`;
    if (any.type_url !== typeUrl) return errors.push({ path, message: `type_url ${any.type_url ?? '(none)'} in a response of type ${typeUrl}` });
    let s: TlsSecretResource;
    try {
      s = decodeResource<TlsSecretResource>(typeUrl, any.value ?? new Uint8Array());
    } catch (e) {
      return errors.push({ path, message: `cannot decode: ${(e as Error).message}` });
    }
    const name = s.name ?? '';
    if (name === '') return errors.push({ path: `${path}.name`, message: 'must not be empty' });
    const certificateChain = pem(s.tls_certificate?.certificate_chain);
    const privateKey = pem(s.tls_certificate?.private_key);
    const trustedCa = pem(s.validation_context?.trusted_ca);
    if (s.tls_certificate && (certificateChain === undefined || privateKey === undefined)) return errors.push({ path: `secret ${name}.tls_certificate`, message: 'needs inline certificate_chain and private_key' });
    if (certificateChain === undefined && trustedCa === undefined) return errors.push({ path: `secret ${name}`, message: 'needs tls_certificate or validation_context.trusted_ca (inline)' });
    secrets.push({ name, certificateChain, privateKey, trustedCa, version });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, secrets };
}
