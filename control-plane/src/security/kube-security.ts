/**
 * In --kube mode the control plane plays istiod's security part:
 *   1. the CA from Secret `cacerts` (plugged-in) or else `istio-ca-secret` of its namespace
 *      (created with a new root when missing), retried with backoff until it can be had;
 *   2. the serving certificate for istiod's names (`--tls-dir` wins when it holds one);
 *   3. ConfigMap `istio-ca-root-cert` in every namespace (RootCertPublisher);
 *   4. the webhook configurations of its revision patched (WebhookPatcher).
 * `startKubeSecurity` resolves once 1 and 2 are done; 3 and 4 go on in the background.
 */
import { CA_SECRET_NAME, istiodDnsNames, ISTIOD_NAME } from '@minimesh/mesh';
import type { KubeApi } from '../kube/kube-api.js';
import { Backoff } from '../kube/keyed-reconciler.js';
import { WebhookPatcher } from '../webhooks/webhook-patcher.js';
import { loadOrCreateCaSecret } from './ca-secret.js';
import { CertificateAuthority, createRootCa } from './certificate-authority.js';
import { loadPluggedCa, PLUGGED_CA_SECRET, readPluggedCaSecret } from './plugged-ca.js';
import { RootCertPublisher } from './root-cert-publisher.js';
import { ServingCertKeeper } from './serving-cert.js';

export interface KubeSecurityOptions {
  readonly api: KubeApi;
  /** The control plane's namespace (POD_NAMESPACE). */
  readonly namespace: string;
  /** Its revision (REVISION): the webhook configurations labelled istio.io/rev=<revision>. */
  readonly revision: string;
  readonly tlsDir?: string;
  /** The root's organization (the trust domain). */
  readonly trustDomain?: string;
  readonly log: (line: string) => void;
  /** Retry timings of every Kubernetes-side loop (default 100 ms doubling to 1 min). */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Aborts the wait for the CA. */
  readonly signal?: AbortSignal;
}

export interface KubeSecurity {
  readonly ca: CertificateAuthority;
  readonly serving: ServingCertKeeper;
  readonly publisher: RootCertPublisher;
  readonly patcher: WebhookPatcher;
  stop(): void;
}

/** The names the serving certificate is for: istiod's, plus the Service's short forms. */
export function servingDnsNames(ns: string): string[] {
  return [...istiodDnsNames(ns), `${ISTIOD_NAME}.${ns}.svc.cluster.local`, `${ISTIOD_NAME}.${ns}`, ISTIOD_NAME];
}

async function caWithRetry(o: KubeSecurityOptions): Promise<CertificateAuthority> {
  const backoff = new Backoff(o.retry?.initialMs ?? 100, Math.min(o.retry?.maxMs ?? 60_000, 30_000));
  let last = '';
  for (;;) {
    if (o.signal?.aborted) throw new Error('stopped before the CA was loaded');
    try {
      // Istio's plugged-in certificates win over the self-signed CA.
      const plugged = await readPluggedCaSecret(o.api, o.namespace);
      if (plugged) {
        const loaded = await loadPluggedCa(plugged, `Secret ${o.namespace}/${PLUGGED_CA_SECRET}`);
        o.log(`loaded the CA from Secret ${o.namespace}/${PLUGGED_CA_SECRET} (plugged-in; signing certificate valid until ${loaded.notAfter.toISOString()})`);
        return loaded;
      }
      const { ca, created } = await loadOrCreateCaSecret(o.api, o.namespace, () => createRootCa({ org: o.trustDomain ?? 'cluster.local' }));
      const loaded = await CertificateAuthority.load(ca.certPem, ca.keyPem);
      o.log(`${created ? 'created' : 'loaded'} the CA from Secret ${o.namespace}/${CA_SECRET_NAME} (root valid until ${loaded.notAfter.toISOString()})`);
      return loaded;
    } catch (e) {
      const delay = backoff.next();
      const msg = `CA from Secret ${o.namespace}/${CA_SECRET_NAME}: ${(e as Error).message}`;
      if (msg !== last) o.log(`${msg}; retrying with backoff`);
      last = msg;
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        o.signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
    }
  }
}

export async function startKubeSecurity(o: KubeSecurityOptions): Promise<KubeSecurity> {
  const ca = await caWithRetry(o);
  const serving = await ServingCertKeeper.create({ ca, tlsDir: o.tlsDir, dnsNames: servingDnsNames(o.namespace), log: o.log });
  if (serving.current.source === 'tls-dir') o.log(`serving certificate from ${o.tlsDir}`);
  const publisher = new RootCertPublisher({ api: o.api, rootPem: ca.rootPem, log: o.log, retry: o.retry });
  const patcher = new WebhookPatcher({ api: o.api, namespace: o.namespace, revision: o.revision, rootPem: serving.current.caBundlePem, log: o.log, retry: o.retry });
  serving.on('change', (c) => patcher.setRoot(c.caBundlePem));
  publisher.start();
  patcher.start();
  return {
    ca,
    serving,
    publisher,
    patcher,
    stop() {
      serving.stop();
      publisher.stop();
      patcher.stop();
    },
  };
}
