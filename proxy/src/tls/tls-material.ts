/**
 * A TLS context's certificate, key and roots, resolved when a connection starts: inline PEM,
 * files, or the proxy's SDS secrets (`default`, `ROOTCA`) from the SecretStore. The Node
 * SecureContext made from them is kept until a secret it used is replaced (a rotation), so
 * new connections take the new secret and the ones open keep theirs.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import type { CommonTlsRt, DataSourceRt } from '@minimesh/config/tls-runtime';
import type { SecretStore, TlsSecret } from '../security/secret-store.js';

export class TlsMaterialError extends Error {}

/** The options of a context's current material, and the SecureContext made from them (on first use). */
export class TlsMaterial {
  private ctx: tls.SecureContext | undefined;
  constructor(
    readonly cert: TlsSecret | undefined,
    readonly root: TlsSecret | undefined,
    readonly options: tls.SecureContextOptions,
  ) {}
  get secureContext(): tls.SecureContext {
    if (this.ctx === undefined) {
      try {
        this.ctx = tls.createSecureContext(this.options);
      } catch (e) {
        throw new TlsMaterialError(`bad TLS material: ${(e as Error).message}`);
      }
    }
    return this.ctx;
  }
}

const cache = new WeakMap<CommonTlsRt, TlsMaterial>();

function readSource(d: DataSourceRt, what: string): string {
  if (d.kind === 'inline') return d.pem;
  try {
    return fs.readFileSync(d.path, 'utf8');
  } catch (e) {
    throw new TlsMaterialError(`cannot read ${what} ${d.path}: ${(e as Error).message}`);
  }
}

/** The SecureContext of `common` with the secrets as they are now (see tlsMaterialFor). */
export function secureContextFor(common: CommonTlsRt, secrets: SecretStore): tls.SecureContext {
  return tlsMaterialFor(common, secrets).secureContext;
}

/**
 * The material of `common` with the secrets as they are now (the same object until a secret
 * it uses is replaced); throws TlsMaterialError when an SDS secret it names has not arrived
 * (Envoy keeps such a listener or cluster inactive).
 */
export function tlsMaterialFor(common: CommonTlsRt, secrets: SecretStore): TlsMaterial {
  const certName = common.certificateSds[0];
  const rootName = common.validation?.sdsSecret;
  const cert = certName === undefined ? undefined : secrets.get(certName);
  const root = rootName === undefined ? undefined : secrets.get(rootName);
  const hit = cache.get(common);
  if (hit !== undefined && hit.cert === cert && hit.root === root) return hit;
  const opts: tls.SecureContextOptions = {};
  if (certName !== undefined) {
    if (cert?.certificateChain === undefined || cert.privateKey === undefined) throw new TlsMaterialError(`SDS secret ${JSON.stringify(certName)} (certificate and key) has not arrived`);
    opts.cert = cert.certificateChain;
    opts.key = cert.privateKey;
  } else if (common.certificates.length > 0) {
    opts.cert = readSource(common.certificates[0].certificateChain, 'certificate chain');
    opts.key = readSource(common.certificates[0].privateKey, 'private key');
  }
  const v = common.validation;
  if (v !== undefined) {
    const cas: string[] = [];
    if (v.trustedCa !== undefined) cas.push(readSource(v.trustedCa, 'trusted CA'));
    if (rootName !== undefined) {
      if (root?.trustedCa === undefined) throw new TlsMaterialError(`SDS secret ${JSON.stringify(rootName)} (trusted CA) has not arrived`);
      cas.push(root.trustedCa);
    }
    opts.ca = cas;
  }
  if (common.minVersion !== undefined) opts.minVersion = common.minVersion;
  if (common.maxVersion !== undefined) opts.maxVersion = common.maxVersion;
  if (common.ciphers !== undefined) opts.ciphers = common.ciphers;
  if (common.ecdhCurves !== undefined) opts.ecdhCurve = common.ecdhCurves;
  const m = new TlsMaterial(cert, root, opts);
  cache.set(common, m);
  return m;
}
