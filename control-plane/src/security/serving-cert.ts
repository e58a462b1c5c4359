/**
 * The control plane's serving certificate (webhooks, xDS over TLS), kept current: taken from
 * `--tls-dir` when that folder holds `tls.crt` (re-read when the files change, as a mounted
 * Secret is updated), else signed by the CA and re-signed once two thirds of its life passed.
 * Checked every `checkEveryMs` (60 s, as istiod polls); 'change' fires with the new one.
 */
import { EventEmitter } from 'node:events';
import type { CertificateAuthority } from './certificate-authority.js';
import { hasTlsFiles, readTlsDir } from './tls-dir.js';

export interface ServingCert {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** What clients are to trust: `ca.crt` of the folder, else the CA's root. */
  readonly caBundlePem: string;
  readonly source: 'tls-dir' | 'ca';
}

export interface ServingCertOptions {
  readonly ca?: CertificateAuthority;
  readonly tlsDir?: string;
  readonly dnsNames: readonly string[];
  readonly ttlMs?: number;
  readonly checkEveryMs?: number;
  readonly log?: (line: string) => void;
}

export class ServingCertError extends Error {}

/** True once two thirds of the certificate's life have passed. */
export function renewalDue(cert: { notBefore: Date; notAfter: Date }, now: Date): boolean {
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  return now.getTime() >= cert.notBefore.getTime() + (life * 2) / 3;
}

export class ServingCertKeeper extends EventEmitter<{ change: [ServingCert] }> {
  private cert!: ServingCert;
  private timer: NodeJS.Timeout | undefined;
  private lastProblem = '';
  private refreshing: Promise<boolean> | undefined;

  private constructor(private readonly o: ServingCertOptions) {
    super();
  }

  /** The first certificate, then the periodic check. Throws ServingCertError when there is none to be had. */
  static async create(o: ServingCertOptions): Promise<ServingCertKeeper> {
    const k = new ServingCertKeeper(o);
    const first = await k.load(new Date());
    if (!first) throw new ServingCertError(o.tlsDir ? `no serving certificate: ${o.tlsDir} has no tls.crt and there is no CA to sign one` : 'no serving certificate: give --tls-dir DIR (tls.crt, tls.key)');
    k.cert = first;
    k.timer = setInterval(() => void k.refresh(), o.checkEveryMs ?? 60_000).unref();
    return k;
  }

  get current(): ServingCert {
    return this.cert;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Re-reads the folder or re-signs when due; true when the certificate changed. */
  refresh(now = new Date()): Promise<boolean> {
    this.refreshing ??= this.load(now, this.cert)
      .then((next) => {
        if (!next || (next.certChainPem === this.cert.certChainPem && next.keyPem === this.cert.keyPem && next.caBundlePem === this.cert.caBundlePem)) return false;
        this.cert = next;
        this.o.log?.(`serving certificate ${next.source === 'ca' ? 're-signed' : `reloaded from ${this.o.tlsDir}`}, valid until ${next.notAfter.toISOString()}`);
        this.emit('change', next);
        return true;
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(now: Date, previous?: ServingCert): Promise<ServingCert | undefined> {
    const dir = this.o.tlsDir;
    if (dir !== undefined && hasTlsFiles(dir)) {
      try {
        const f = readTlsDir(dir);
        this.lastProblem = '';
        return { certChainPem: f.certChainPem, keyPem: f.keyPem, notBefore: f.notBefore, notAfter: f.notAfter, caBundlePem: f.caPem ?? this.o.ca?.rootPem ?? f.certChainPem, source: 'tls-dir' };
      } catch (e) {
        if (!previous && !this.o.ca) throw new ServingCertError((e as Error).message);
        const problem = `serving certificate from ${dir}: ${(e as Error).message}; ${previous ? 'keeping the current one' : 'signing one with the CA'}`;
        if (problem !== this.lastProblem) this.o.log?.(problem);
        this.lastProblem = problem;
        if (previous) return previous;
      }
    }
    const ca = this.o.ca;
    if (!ca) return previous;
    if (previous?.source === 'ca' && !renewalDue(previous, now) && previous.caBundlePem === ca.rootPem) return previous;
    // `now` decides whether renewal is due; the certificate itself starts from the real clock.
    const s = await ca.signServing({ dnsNames: this.o.dnsNames, ttlMs: this.o.ttlMs });
    return { ...s, caBundlePem: ca.rootPem, source: 'ca' };
  }
}
