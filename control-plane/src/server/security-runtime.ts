/**
 * The control plane's certificates and TLS ports, started by ControlPlane after its plain
 * ports: in --kube mode istiod's security part (CA Secret, root ConfigMaps, webhook patching,
 * see security/kube-security.ts); otherwise a serving certificate from `--tls-dir` only. Then
 * the webhook server and the secure xDS port.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { istiodSecureXdsAddress, MINIMESH_IMAGE, MINIMESH_IMAGE_PULL_POLICY } from '@minimesh/mesh';
import type { XdsServer } from '@minimesh/xds';
import { kubeApi } from '../kube/kube-api.js';
import { startKubeSecurity, type KubeSecurity } from '../security/kube-security.js';
import { ServingCertKeeper } from '../security/serving-cert.js';
import { TokenReviewAuthenticator, TokensFileAuthenticator } from '../security/caller-authn.js';
import { localCa } from '../security/plugged-ca.js';
import { WorkloadCaService } from '../security/workload-ca-service.js';
import { workloadTtlsFromEnv } from '../security/workload-cert.js';
import type { ControlPlaneOptions } from './control-plane.js';
import { SecureServing } from './secure-serving.js';

export interface SecurityRuntimeOptions {
  readonly opts: ControlPlaneOptions;
  readonly xds: XdsServer;
  /** --kube mode: the API server. */
  readonly kubeConfig?: KubeConfig;
  readonly log: (line: string) => void;
  /** The mesh config's trust domain: the organisation of a root the CA creates. */
  readonly trustDomain?: string;
  /** The trust domain of the moment (the mesh config may change): the SPIFFE ids' first part. */
  readonly meshTrustDomain?: () => string;
  /** The mesh config's `defaultConfig.concurrency` of the moment: injected sidecars' `--concurrency`. */
  readonly meshProxyConcurrency?: () => number | undefined;
}

export class SecurityRuntime {
  private readonly abort = new AbortController();
  private kube: KubeSecurity | undefined;
  private serving: ServingCertKeeper | undefined;
  private tls: SecureServing | undefined;
  /** True once the certificates exist and the TLS ports listen. */
  ready = false;
  /**
   * Istio's CreateCertificate, on the same gRPC server as ADS (15012 over TLS in --kube mode,
   * the xDS address in the local mesh); it answers once the CA is loaded (--kube, or
   * --workload-tokens), UNAVAILABLE before.
   */
  readonly workloadCa: WorkloadCaService;

  constructor(private readonly o: SecurityRuntimeOptions) {
    const td = o.meshTrustDomain ?? (() => o.trustDomain ?? 'cluster.local');
    this.workloadCa = new WorkloadCaService({ trustDomain: td, ttls: workloadTtlsFromEnv(), log: o.log });
    this.workloadCa.addTo(o.xds.grpcServer);
  }

  /** Whether there is anything to run: --kube, or a TLS port asked for. */
  get needed(): boolean {
    return this.o.kubeConfig !== undefined || this.o.opts.secureXdsAddress !== undefined || this.o.opts.webhookAddress !== undefined;
  }

  get secureXdsPort(): number {
    return this.tls?.secureXdsPort ?? 0;
  }

  get webhookPort(): number {
    return this.tls?.webhookPort ?? 0;
  }

  /** When the CA's root expires (--kube mode). */
  get rootCertExpiry(): Date | undefined {
    return this.kube?.ca.notAfter;
  }

  /** The kube-side parts, for tests and /metrics. */
  get kubeSecurity(): KubeSecurity | undefined {
    return this.kube;
  }

  async start(): Promise<void> {
    const { opts, log } = this.o;
    const namespace = opts.namespace ?? 'istio-system';
    if (!this.o.kubeConfig && opts.workloadTokensFile !== undefined) {
      const { ca, created } = await localCa(opts.caDir, this.o.trustDomain ?? 'cluster.local');
      this.workloadCa.enable(ca, new TokensFileAuthenticator(opts.workloadTokensFile));
      log(`workload certificates: ${created ? 'a new root' : `the CA of ${opts.caDir}`}${created && opts.caDir ? ` (written to ${opts.caDir})` : ''}, callers proved by ${opts.workloadTokensFile}`);
    }
    if (this.o.kubeConfig) {
      const api = await kubeApi(this.o.kubeConfig);
      const started = startKubeSecurity({
        api,
        namespace,
        revision: opts.revision ?? 'default',
        tlsDir: opts.tlsDir,
        trustDomain: this.o.trustDomain,
        log,
        retry: opts.kubeRetry,
        signal: this.abort.signal,
      });
      try {
        this.kube = await started;
      } catch (e) {
        if (this.abort.signal.aborted) return; // stopped while waiting for the CA
        throw e;
      }
      if (this.abort.signal.aborted) return this.kube.stop();
      this.workloadCa.enable(this.kube.ca, new TokenReviewAuthenticator(api));
      this.serving = this.kube.serving;
    } else if (this.needed) {
      this.serving = await ServingCertKeeper.create({ tlsDir: opts.tlsDir, dnsNames: [], log });
    } else return;
    this.tls = await SecureServing.start({
      xds: this.o.xds,
      serving: this.serving,
      secureXdsAddress: opts.secureXdsAddress,
      webhookAddress: opts.webhookAddress,
      inject: () => {
        const concurrency = this.o.meshProxyConcurrency?.();
        return { image: opts.proxyImage ?? MINIMESH_IMAGE, imagePullPolicy: MINIMESH_IMAGE_PULL_POLICY, xdsAddress: istiodSecureXdsAddress(namespace), revision: opts.revision ?? 'default', ...(concurrency !== undefined ? { concurrency } : {}) };
      },
      log,
    });
    this.ready = true;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.ready = false;
    this.kube?.stop();
    if (!this.kube) this.serving?.stop();
    await this.tls?.stop();
  }
}
