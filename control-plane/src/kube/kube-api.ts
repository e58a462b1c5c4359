/**
 * The few Kubernetes API calls the control plane makes as istiod does (its CA Secret, the
 * root ConfigMaps, the webhook configurations, the dry-run Gateway): read, create, replace,
 * list and watch by path, JSON as the API server sends it. Errors are KubeApiError (status
 * code and the Status message). `kubeApi(kc)` implements it with @kubernetes/client-node's
 * config (authentication, TLS) and Watch.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeRequestJson } from '../sources/kube-get.js';

export { KubeApiError };

export type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface KubeList {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
}

export interface KubeApi {
  get(path: string): Promise<KubeObject>;
  list(path: string): Promise<KubeList>;
  /** POST to a collection; `dryRun` asks the API server to run every check (admission webhooks too) and store nothing. */
  create(collectionPath: string, obj: KubeObject, opts?: { dryRun?: boolean }): Promise<KubeObject>;
  /** PUT: the whole object, with the resourceVersion it was read at (a 409 when it changed since). */
  replace(path: string, obj: KubeObject): Promise<KubeObject>;
  /** Starts a watch; `onDone` fires once when it ends. Resolves with a stopper. */
  watch(path: string, query: Record<string, string>, onEvent: (type: WatchEvent, obj: KubeObject) => void, onDone: (err?: unknown) => void): Promise<() => void>;
}

/** The status code of an API error, undefined for anything else (a refused connection). */
export function statusOf(e: unknown): number | undefined {
  if (e instanceof KubeApiError) return e.statusCode;
  const x = e as { statusCode?: unknown; code?: unknown } | undefined;
  return typeof x?.statusCode === 'number' ? x.statusCode : typeof x?.code === 'number' ? x.code : undefined;
}

/** `path?k=v&…` */
export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

export async function kubeApi(kc: KubeConfig): Promise<KubeApi> {
  const k8s = await import('@kubernetes/client-node');
  const watcher = new k8s.Watch(kc);
  return {
    get: async (path) => (await kubeRequestJson(kc, 'GET', path)) as KubeObject,
    async list(path) {
      const r = (await kubeRequestJson(kc, 'GET', path)) as { items?: KubeObject[]; metadata?: { resourceVersion?: string } };
      return { items: r.items ?? [], resourceVersion: r.metadata?.resourceVersion ?? '' };
    },
    create: async (path, obj, opts) => (await kubeRequestJson(kc, 'POST', withQuery(path, { dryRun: opts?.dryRun ? 'All' : undefined }), obj)) as KubeObject,
    replace: async (path, obj) => (await kubeRequestJson(kc, 'PUT', path, obj)) as KubeObject,
    async watch(path, query, onEvent, onDone) {
      const ac = await watcher.watch(path, { ...query, allowWatchBookmarks: true }, (type, obj) => onEvent(type as WatchEvent, obj as KubeObject), (err) => onDone(err ?? undefined));
      return () => ac.abort();
    },
  };
}

/** In-cluster config when KUBERNETES_SERVICE_HOST is set, else kubeconfig (the library loads on first use). */
export async function inClusterOrDefaultKubeConfig(): Promise<KubeConfig> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
