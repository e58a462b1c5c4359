/**
 * The proxy's workload identity, obtained as istio-agent obtains it: a fresh EC P-256 key that
 * never leaves the process, a CSR for it, and `IstioCertificateService/CreateCertificate` on
 * the control plane (the xDS address, same TLS) with the pod's token as
 * `authorization: Bearer`. The answer becomes the secrets `default` (the chain and the key)
 * and `ROOTCA` (the chain's last certificate). A new certificate is fetched at half its
 * lifetime (±1 %), counted from when it arrived; a failed attempt is retried with backoff
 * (1 s doubling to 30 s by default) while the current certificate serves on.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it before it loads
import { EventEmitter } from 'node:events';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { CA_METHOD_PATH, decodeCertificateResponse, encodeCertificateRequest, type CertificateRequest, type CertificateResponse } from '@minimesh/xds/ca-service';
import { DEFAULT_CERT_TTL_S } from './workload-cert-options.js';
import { ROOT_SECRET, WORKLOAD_SECRET, type SecretStore } from './secret-store.js';

x509.cryptoProvider.set(webcrypto as never);


export interface WorkloadCertAgentOptions {
  /** host:port of the certificate service (the xDS address). */
  readonly server: string;
  /** TLS to it (as for xDS); undefined: plain text (the local mesh). */
  readonly tls?: { readonly rootPem: string; readonly serverName?: string };
  /** The pod's token, re-read before every request (projected tokens rotate). */
  readonly tokenFile: string;
  /** Requested lifetime in seconds (default 24 h). */
  readonly ttlSeconds?: number;
  readonly secrets: SecretStore;
  /** Sent as Istio's `ClusterID` metadata. */
  readonly clusterId?: string;
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** The certificate in use. */
export interface IssuedCert {
  readonly chainPem: readonly string[];
  readonly serial: string;
  readonly uriSans: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly receivedAt: Date;
}

export class WorkloadCertAgent extends EventEmitter<{ issued: [IssuedCert]; failed: [Error] }> {
  private client: grpc.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  current: IssuedCert | undefined;

  constructor(private readonly o: WorkloadCertAgentOptions) {
    super();
  }

  start(): void {
    const creds = this.o.tls ? grpc.credentials.createSsl(Buffer.from(this.o.tls.rootPem)) : grpc.credentials.createInsecure();
    this.client = new grpc.Client(this.o.server, creds, this.o.tls?.serverName !== undefined ? { 'grpc.ssl_target_name_override': this.o.tls.serverName } : {});
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.rotate(), ms);
    this.timer.unref();
  }

  /** One attempt; schedules the next (renewal or retry). */
  private async rotate(): Promise<void> {
    try {
      const cert = await this.fetch();
      if (this.stopped) return;
      this.failures = 0;
      this.current = cert;
      this.emit('issued', cert);
      const life = cert.notAfter.getTime() - cert.receivedAt.getTime();
      const ratio = 0.5 + (Math.random() * 0.02 - 0.01);
      this.schedule(Math.max(0, life * ratio));
      this.o.log?.info({ identity: cert.uriSans.join(','), serial: cert.serial, notAfter: cert.notAfter.toISOString() }, 'workload certificate issued');
    } catch (e) {
      if (this.stopped) return;
      const err = e as Error;
      const initial = this.o.retry?.initialMs ?? 1000;
      const delay = Math.min(initial * 2 ** this.failures, this.o.retry?.maxMs ?? 30_000);
      this.failures++;
      this.emit('failed', err);
      this.o.log?.warn({ server: this.o.server, error: err.message, retryInMs: delay }, 'workload certificate: request failed');
      this.schedule(delay);
    }
  }

  /** Makes a key and CSR, asks for the certificate, installs the secrets. */
  async fetch(): Promise<IssuedCert> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
    let token: string;
    try {
      token = readFileSync(this.o.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new Error(`the pod's token ${this.o.tokenFile}: ${(e as Error).message}`);
    }
    if (token === '') throw new Error(`the pod's token ${this.o.tokenFile} is empty`);
    const request: CertificateRequest = {
      csr: csr.toString('pem'),
      validity_duration: this.o.ttlSeconds ?? DEFAULT_CERT_TTL_S,
      ...(this.o.clusterId ? { metadata: { ClusterID: this.o.clusterId } } : {}),
    };
    const response = await this.call(request, token);
    const chain = response.cert_chain;
    if (chain.length < 2) throw new Error(`CreateCertificate answered ${chain.length} certificate(s); a chain ends with the root`);
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const leaf = new X509Certificate(chain[0]);
    if (!leaf.checkPrivateKey(key)) throw new Error('CreateCertificate answered a certificate for another key');
    const receivedAt = new Date();
    const chainPem = chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`));
    this.o.secrets.set(WORKLOAD_SECRET, { certificateChain: chainPem.join(''), privateKey: key.export({ type: 'pkcs8', format: 'pem' }) as string, lastUpdated: receivedAt });
    const root = chainPem[chainPem.length - 1];
    if (this.o.secrets.get(ROOT_SECRET)?.trustedCa !== root) this.o.secrets.set(ROOT_SECRET, { trustedCa: root, lastUpdated: receivedAt });
    const uriSans = (leaf.subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
    return { chainPem, serial: leaf.serialNumber.toLowerCase(), uriSans, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), receivedAt };
  }

  private call(request: CertificateRequest, token: string): Promise<CertificateResponse> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('not started'));
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    if (this.o.clusterId) md.set('clusterid', this.o.clusterId);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        CA_METHOD_PATH,
        encodeCertificateRequest,
        decodeCertificateResponse,
        request,
        md,
        { deadline: Date.now() + 10_000 },
        (err, res) => (err ? reject(new Error(`CreateCertificate: ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`)) : resolve(res!)),
      );
    });
  }
}
