/**
 * The proxy's TLS secrets, by the names Envoy asks its SDS server for: `default` (the
 * workload's certificate chain and private key) and `ROOTCA` (the roots a peer's certificate
 * must chain to). Whoever obtains them (the workload identity client, or files named in a
 * static bootstrap) puts them here; listeners and clusters that use TLS read them when a
 * connection starts, and `change` tells them a secret was rotated (new connections take the
 * new one; connections already open keep theirs).
 */
import { EventEmitter } from 'node:events';

/** Envoy's SDS secret names, as istio-agent serves them. */
export const WORKLOAD_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';

export interface TlsSecret {
  /** PEM: the leaf first, then its intermediates (a `tls_certificate`). */
  readonly certificateChain?: string;
  /** PEM private key (a `tls_certificate`; never leaves the proxy). */
  readonly privateKey?: string;
  /** PEM roots (a `validation_context`). */
  readonly trustedCa?: string;
  /** When this version was put here. */
  readonly lastUpdated: Date;
}

export class SecretStore extends EventEmitter<{ change: [name: string, secret: TlsSecret] }> {
  private readonly secrets = new Map<string, TlsSecret>();

  get(name: string): TlsSecret | undefined {
    return this.secrets.get(name);
  }

  set(name: string, secret: TlsSecret): void {
    this.secrets.set(name, secret);
    this.emit('change', name, secret);
  }

  names(): string[] {
    return [...this.secrets.keys()].sort();
  }
}
