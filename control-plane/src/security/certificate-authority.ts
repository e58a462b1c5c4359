/**
 * The control plane's certificate authority (istiod's self-signed CA): a root of RSA-2048,
 * subject O=<trust domain>, valid ten years, and the serving certificates it signs for the
 * control plane's own names (webhooks on 15017, xDS over TLS on 15012).
 *
 * Certificates are built with @peculiar/x509 on node's WebCrypto; keys are read and written
 * through node's KeyObject, so a root written by Istio (PKCS#1 `RSA PRIVATE KEY`) loads too.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import { createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const DAY_MS = 24 * 60 * 60 * 1000;
/** Istio's default root lifetime (CITADEL_SELF_SIGNED_CA_CERT_TTL, 3650 days). */
export const ROOT_TTL_MS = 3650 * DAY_MS;
/** The serving certificate lives one year at most. */
export const SERVING_TTL_MS = 365 * DAY_MS;
/** Clocks of the API server and the clients may lag ours a little. */
const BACKDATE_MS = 5 * 60 * 1000;

const RSA_ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' };

/** A certificate and its private key, PEM. */
export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A signed serving certificate: the leaf then the root, its key, its validity. */
export interface ServingCertificate {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export class CaError extends Error {}

/** A random positive serial number of 128 bits, hex. */
function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
}

function pemOf(key: KeyObject): string {
  return key.export({ type: key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'pkcs8', format: 'pem' }) as string;
}

async function toCryptoKey(key: KeyObject, alg: typeof RSA_ALG | typeof EC_ALG): Promise<webcrypto.CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, alg.name === 'ECDSA' ? alg : { name: alg.name, hash: 'SHA-256' }, false, ['sign']) as Promise<webcrypto.CryptoKey>;
}

/** A new self-signed root: RSA-2048, `O=<org>`, CA basic constraints, `ttlMs` long (ten years). */
export async function createRootCa(opts: { org?: string; ttlMs?: number; now?: Date } = {}): Promise<CertAndKey> {
  const org = opts.org ?? 'cluster.local';
  if (!/^[^,=+"\\<>;]+$/.test(org)) throw new CaError(`organization ${JSON.stringify(org)}: must not contain , = + " \\ < > ;`);
  const now = opts.now ?? new Date();
  const keys = (await webcrypto.subtle.generateKey(RSA_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=${org}`,
    keys,
    signingAlgorithm: RSA_ALG,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + (opts.ttlMs ?? ROOT_TTL_MS)),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  // PEM as node writes it (a final newline): the form every copy of the root takes.
  return { certPem: new NodeX509(Buffer.from(cert.rawData)).toString(), keyPem: pemOf(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })) };
}

/** A leaf to sign: its public key, names and extensions (see signLeaf). */
export interface LeafParams {
  readonly publicKey: webcrypto.CryptoKey;
  readonly subject: string;
  readonly extensions: readonly x509.Extension[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Every certificate of a PEM bundle, each as node writes it; CaError naming `what` when one does not parse. */
function pemCerts(pem: string, what: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CaError(`${what}: no PEM certificate in it`);
  return blocks.map((b, i) => {
    try {
      return new NodeX509(b).toString();
    } catch (e) {
      throw new CaError(`${what}: certificate ${i + 1} is not valid (${(e as Error).message})`);
    }
  });
}

export class CertificateAuthority {
  private constructor(
    /** The root certificate, PEM: the caBundle of the webhooks, the root of ConfigMap istio-ca-root-cert. */
    readonly rootPem: string,
    /** The signing certificate (the root itself, or a plugged-in intermediate). */
    readonly root: NodeX509,
    private readonly signingKey: webcrypto.CryptoKey,
    /** PEM of the signing certificate up to the root: what follows a leaf in a chain. */
    readonly chainPem: string,
  ) {}

  /**
   * Loads a CA certificate and its key (PEM; PKCS#1, PKCS#8 or SEC1). Throws CaError naming what
   * is wrong: not PEM, not a CA, expired, or a key that is not the certificate's. A plugged-in
   * intermediate (Istio's `cacerts`) also gives `certChainPem` (itself up to the root) and
   * `rootCertPem` (the root peers trust); a self-signed root needs neither.
   */
  static async load(certPem: string, keyPem: string, plugged: { certChainPem?: string; rootCertPem?: string } = {}): Promise<CertificateAuthority> {
    let root: NodeX509;
    let key: KeyObject;
    try {
      root = new NodeX509(certPem);
    } catch (e) {
      throw new CaError(`CA certificate: not a PEM certificate (${(e as Error).message})`);
    }
    try {
      key = createPrivateKey(keyPem);
    } catch (e) {
      throw new CaError(`CA key: not a PEM private key (${(e as Error).message})`);
    }
    if (!root.ca) throw new CaError(`CA certificate ${root.subject.replace(/\n/g, ', ')}: not a CA (basic constraints CA:FALSE)`);
    if (!root.checkPrivateKey(key)) throw new CaError('CA key: does not match the CA certificate');
    if (new Date(root.validTo).getTime() <= Date.now()) throw new CaError(`CA certificate: expired on ${new Date(root.validTo).toISOString()}`);
    const type = key.asymmetricKeyType;
    if (type !== 'rsa' && !(type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')) throw new CaError(`CA key: ${type} keys are not supported (RSA or EC P-256)`);
    const signingKey = await toCryptoKey(key, type === 'rsa' ? RSA_ALG : EC_ALG);
    const rootPem = plugged.rootCertPem?.trim() ? pemCerts(plugged.rootCertPem, 'root-cert.pem')[0] : root.toString();
    // What follows a leaf: the signing certificate, its intermediates, then the root.
    const chain = plugged.certChainPem?.trim() ? pemCerts(plugged.certChainPem, 'cert-chain.pem') : [];
    if (chain[0] !== root.toString()) chain.unshift(root.toString());
    if (chain[chain.length - 1] !== rootPem) chain.push(rootPem);
    return new CertificateAuthority(rootPem, root, signingKey, chain.map((c) => c.trim()).join('\n'));
  }

  /** Signs a leaf with the CA key; returns its PEM. */
  async signLeaf(p: LeafParams): Promise<string> {
    const signer = new x509.X509Certificate(this.root.toString());
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: p.subject,
      issuer: signer.subjectName.toString(),
      publicKey: p.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.signingKey.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : RSA_ALG,
      notBefore: p.notBefore,
      notAfter: new Date(Math.min(p.notAfter.getTime(), this.notAfter.getTime())),
      extensions: [...p.extensions, await x509.AuthorityKeyIdentifierExtension.create(await signer.publicKey.export())],
    });
    return cert.toString('pem');
  }

  get notAfter(): Date {
    return new Date(this.root.validTo);
  }

  /**
   * A serving certificate for `dnsNames` (an EC P-256 key, server and client auth), valid
   * `ttlMs` (one year at most) and never past the root.
   */
  async signServing(opts: { dnsNames: readonly string[]; ttlMs?: number; now?: Date }): Promise<ServingCertificate> {
    if (opts.dnsNames.length === 0) throw new CaError('a serving certificate needs at least one DNS name');
    const now = opts.now ?? new Date();
    const ttl = Math.min(opts.ttlMs ?? SERVING_TTL_MS, SERVING_TTL_MS);
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const notAfter = new Date(Math.min(now.getTime() + ttl, this.notAfter.getTime()));
    const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const leaf = await this.signLeaf({
      subject: `CN=${opts.dnsNames[0]}`,
      publicKey: keys.publicKey,
      notBefore,
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(opts.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
    return { certChainPem: `${leaf}\n${this.chainPem}\n`, keyPem, notBefore, notAfter };
  }
}

