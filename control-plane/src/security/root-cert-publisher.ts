/**
 * The root certificate in ConfigMap `istio-ca-root-cert` (key `root-cert.pem`) of every
 * namespace (but Kubernetes' own kube-public, kube-node-lease and local-path-storage; kube-system
 * gets it), as istiod publishes it for sidecars and gateways to mount: Namespaces are
 * watched (a new one gets it), and so are those ConfigMaps (one deleted or changed is
 * repaired). Writes are retried with backoff; a failure is logged once until it changes.
 */
import { ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY } from '@minimesh/mesh';
import { KeyedReconciler } from '../kube/keyed-reconciler.js';
import { statusOf, type KubeApi, type KubeObject } from '../kube/kube-api.js';
import { ListWatch } from '../kube/list-watch.js';

export interface RootCertPublisherOptions {
  readonly api: KubeApi;
  readonly rootPem: string;
  readonly log: (line: string) => void;
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** Never written to, as istiod skips them. */
export const ROOT_CERT_SKIPPED_NAMESPACES: ReadonlySet<string> = new Set(['kube-public', 'kube-node-lease', 'local-path-storage']);

const cmPath = (ns: string): string => `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;

/** The ConfigMap as published (label `istio.io/config: "true"`, as istiod's). */
export function rootCertConfigMap(namespace: string, rootPem: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CERT_CONFIGMAP, namespace, labels: { 'istio.io/config': 'true' } }, data: { [ROOT_CERT_KEY]: rootPem } };
}

const holdsRoot = (cm: KubeObject | undefined, rootPem: string): boolean => (cm?.data as Record<string, unknown> | undefined)?.[ROOT_CERT_KEY] === rootPem;

export class RootCertPublisher {
  private readonly namespaces: ListWatch;
  private readonly configMaps: ListWatch;
  private readonly reconciler: KeyedReconciler;
  private readonly lastError = new Map<string, string>();
  /** ConfigMaps written (created or repaired), for tests and metrics. */
  writes = 0;

  constructor(private readonly o: RootCertPublisherOptions) {
    this.reconciler = new KeyedReconciler((ns) => this.reconcile(ns), {
      ...o.retry,
      onError: (ns, err) => {
        const msg = `cannot publish ConfigMap ${ROOT_CERT_CONFIGMAP} in namespace ${ns}: ${(err as Error).message}; retrying`;
        if (this.lastError.get(ns) !== msg) o.log(msg);
        this.lastError.set(ns, msg);
      },
    });
    const logOnce = new Set<string>();
    const onError = (m: string): void => {
      const key = m.replace(/; retrying in .*$/, '');
      if (!logOnce.has(key)) o.log(m);
      logOnce.add(key);
    };
    this.configMaps = new ListWatch({
      api: o.api,
      path: '/api/v1/configmaps',
      fieldSelector: `metadata.name=${ROOT_CERT_CONFIGMAP}`,
      filter: (cm) => cm.metadata?.name === ROOT_CERT_CONFIGMAP,
      onUpsert: (cm) => {
        if (!holdsRoot(cm, o.rootPem)) this.reconciler.enqueue(cm.metadata?.namespace ?? '');
      },
      onDelete: (cm) => this.reconciler.enqueue(cm.metadata?.namespace ?? ''),
      onError,
      retry: o.retry,
    });
    this.namespaces = new ListWatch({ api: o.api, path: '/api/v1/namespaces', onUpsert: (ns) => this.reconciler.enqueue(ns.metadata?.name ?? ''), onDelete: () => undefined, onError, retry: o.retry });
  }

  /** Watches the ConfigMaps first, so that namespaces already holding the root cost no request. */
  start(): void {
    this.configMaps.start();
    void this.configMaps.synced.then(() => this.namespaces.start());
  }

  /** Resolves once every namespace was listed (the ConfigMaps may still be being written). */
  get synced(): Promise<void> {
    return this.namespaces.synced;
  }

  /** Namespaces with a write still to do or retrying. */
  get pending(): number {
    return this.reconciler.pending;
  }

  stop(): void {
    this.reconciler.stop();
    this.namespaces.stop();
    this.configMaps.stop();
  }

  private async reconcile(ns: string): Promise<void> {
    const namespace = this.namespaces.get('', ns);
    if (!namespace || ROOT_CERT_SKIPPED_NAMESPACES.has(ns) || (namespace.status as { phase?: string } | undefined)?.phase === 'Terminating') return;
    if (holdsRoot(this.configMaps.get(ns, ROOT_CERT_CONFIGMAP), this.o.rootPem)) return;
    let current: KubeObject | undefined;
    try {
      current = await this.o.api.get(`${cmPath(ns)}/${ROOT_CERT_CONFIGMAP}`);
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    if (current === undefined) {
      await this.o.api.create(cmPath(ns), rootCertConfigMap(ns, this.o.rootPem));
      this.o.log(`published ConfigMap ${ROOT_CERT_CONFIGMAP} in namespace ${ns}`);
    } else if (!holdsRoot(current, this.o.rootPem)) {
      const data = { ...((current.data as Record<string, string> | undefined) ?? {}), [ROOT_CERT_KEY]: this.o.rootPem };
      await this.o.api.replace(`${cmPath(ns)}/${ROOT_CERT_CONFIGMAP}`, { ...current, data });
      this.o.log(`repaired ConfigMap ${ROOT_CERT_CONFIGMAP} in namespace ${ns} (its ${ROOT_CERT_KEY} was not the control plane's root)`);
    } else return;
    this.writes++;
    this.lastError.delete(ns);
  }
}
