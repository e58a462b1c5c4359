/**
 * The Kubernetes API as a config source: for each kind, list, then watch from the list's
 * resourceVersion (bookmarks on); a watch that ends is resumed from the last version seen; a
 * 410 Gone (version too old) relists. Objects pass the same validators as the folder source;
 * an invalid one is reported and skipped, its last good version kept.
 *
 * The list/watch calls go through `KubeTransport`; `clientNodeTransport` implements it with
 * @kubernetes/client-node (in-cluster config or kubeconfig), tests use a fake.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeGetJson } from './kube-get.js';
import { formatIssue, validateResource, type KubeResource, type ResourceIssue } from '@minimesh/kube';
import { ConfigStore } from './config-store.js';
import { resourceKey } from './load-manifests.js';

export interface WatchedKind {
  readonly apiVersion: string;
  readonly kind: string;
  /** Collection path for all namespaces, e.g. `/api/v1/services`. */
  readonly path: string;
}

export const ISTIO_API_VERSION = 'networking.istio.io/v1';

export const WATCHED_KINDS: readonly WatchedKind[] = [
  { apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  { apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods' },
  // Pods' localities (topology labels) for locality load balancing.
  { apiVersion: 'v1', kind: 'Node', path: '/api/v1/nodes' },
  { apiVersion: ISTIO_API_VERSION, kind: 'VirtualService', path: `/apis/${ISTIO_API_VERSION}/virtualservices` },
  { apiVersion: ISTIO_API_VERSION, kind: 'DestinationRule', path: `/apis/${ISTIO_API_VERSION}/destinationrules` },
  { apiVersion: ISTIO_API_VERSION, kind: 'Gateway', path: `/apis/${ISTIO_API_VERSION}/gateways` },
  { apiVersion: ISTIO_API_VERSION, kind: 'ServiceEntry', path: `/apis/${ISTIO_API_VERSION}/serviceentries` },
  { apiVersion: ISTIO_API_VERSION, kind: 'Sidecar', path: `/apis/${ISTIO_API_VERSION}/sidecars` },
  { apiVersion: ISTIO_API_VERSION, kind: 'WorkloadEntry', path: `/apis/${ISTIO_API_VERSION}/workloadentries` },
  { apiVersion: 'telemetry.istio.io/v1', kind: 'Telemetry', path: '/apis/telemetry.istio.io/v1/telemetries' },
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', path: '/apis/security.istio.io/v1/authorizationpolicies' },
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', path: '/apis/security.istio.io/v1/peerauthentications' },
  { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', path: '/apis/security.istio.io/v1/requestauthentications' },
  // A Gateway's credentialName (needs get/list/watch on secrets in the control plane's ClusterRole).
  { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets' },
];

/** Secrets that can hold a gateway's certificates: kubernetes.io/tls and generic ones (not tokens, dockercfgs, Helm releases...). */
const CERTIFICATE_SECRET_TYPES = new Set([undefined, '', 'Opaque', 'kubernetes.io/tls', 'istio.io/key-and-cert']);
const isCertificateSecret = (raw: unknown): boolean => CERTIFICATE_SECRET_TYPES.has((raw as { type?: string })?.type);

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface KubeTransport {
  list(k: WatchedKind): Promise<{ items: unknown[]; resourceVersion: string }>;
  /** Starts a watch; `onDone` fires once when it ends (err undefined on a clean close). Returns a stopper. */
  watch(k: WatchedKind, resourceVersion: string, onEvent: (type: WatchEventType, obj: unknown) => void, onDone: (err?: unknown) => void): Promise<() => void>;
}

/**
 * A list/watch transport on @kubernetes/client-node; in-cluster when KUBERNETES_SERVICE_HOST is
 * set, else kubeconfig. The library is loaded on first use: its bundled undici needs a Node
 * with zstd in zlib and throws at import time on older Node 20 releases, which must not take
 * down a control plane that only reads a folder.
 */
export async function clientNodeTransport(kc?: KubeConfig): Promise<KubeTransport> {
  const k8s = await import('@kubernetes/client-node');
  const config = kc ?? defaultKubeConfig(new k8s.KubeConfig());
  const watcher = new k8s.Watch(config);
  return {
    async list(k) {
      // A raw GET: the library's typed lists drop unknown fields and rewrite timestamps, while
      // watch events arrive as the API server's JSON; both paths must hand the validator the same.
      const res = (await kubeGetJson(config, k.path)) as { items?: unknown[]; metadata?: { resourceVersion?: string } };
      return { items: res.items ?? [], resourceVersion: res.metadata?.resourceVersion ?? '' };
    },
    async watch(k, resourceVersion, onEvent, onDone) {
      const ac = await watcher.watch(k.path, { resourceVersion, allowWatchBookmarks: true }, (type, obj) => onEvent(type as WatchEventType, obj), (err) => onDone(err ?? undefined));
      return () => ac.abort();
    },
  };
}

export function defaultKubeConfig(kc: KubeConfig): KubeConfig {
  if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export interface KubeSourceOptions {
  readonly transport: KubeTransport;
  readonly onChange: (resources: KubeResource[]) => void;
  readonly onIssues?: (issues: readonly ResourceIssue[]) => void;
  /** Every change a watch delivers (for the control plane's event counters). */
  readonly onEvent?: (kind: WatchedKind, type: 'ADDED' | 'MODIFIED' | 'DELETED') => void;
  readonly kinds?: readonly WatchedKind[];
  /** Delay before resuming a watch that ended with an error. */
  readonly retryMs?: number;
}

const MAX_LIST_RETRY_MS = 30_000;

/** `404 Not Found`, `403 ...`: the status first, then the message (without a repeated status). */
function describeError(e: unknown): string {
  const x = e as { code?: unknown; statusCode?: unknown; status?: unknown; message?: unknown } | undefined;
  const status = [x?.statusCode, x?.code, x?.status].find((v) => typeof v === 'number');
  const message = String(x?.message ?? e);
  return status === undefined ? message : `status ${status}${status === 404 ? ' (kind not installed?)' : ''}: ${message}`;
}

const isGone = (e: unknown): boolean => {
  const x = e as { code?: number; statusCode?: number; status?: number; message?: string } | undefined;
  return x?.code === 410 || x?.statusCode === 410 || x?.status === 410 || /\b410\b|Gone/.test(String(x?.message ?? ''));
};

export class KubeSource {
  private readonly store = new ConfigStore();
  private readonly versions = new Map<string, string>();
  private readonly stoppers = new Map<string, () => void>();
  private stopped = false;
  /** How many times each kind was listed (1 + relists after 410). */
  readonly listCount = new Map<string, number>();

  constructor(private readonly opts: KubeSourceOptions) {}

  /**
   * Lists every kind, then starts with what listed: a kind whose list fails (a 404 when
   * Istio's CRDs are not installed, a 403 without RBAC) is reported and retried in the
   * background with backoff; once it lists, its resources join.
   */
  async start(): Promise<void> {
    await Promise.all((this.opts.kinds ?? WATCHED_KINDS).map((k) => this.relist(k).catch((e: unknown) => this.retryList(k, e, this.opts.retryMs ?? 1000))));
    this.opts.onChange(this.store.resources());
  }

  private retryList(k: WatchedKind, err: unknown, delayMs: number): void {
    if (this.stopped) return;
    this.opts.onIssues?.([{ level: 'error', kind: k.kind, namespace: '', name: '(list)', field: '', message: `cannot list ${k.kind} (${k.apiVersion}, GET ${k.path}): ${describeError(err)}; retrying in ${delayMs < 1000 ? `${delayMs} ms` : `${Math.round(delayMs / 1000)} s`}` }]);
    setTimeout(() => {
      this.relist(k).then(
        () => this.opts.onChange(this.store.resources()),
        (e: unknown) => this.retryList(k, e, Math.min(delayMs * 2, MAX_LIST_RETRY_MS)),
      );
    }, delayMs).unref();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stoppers.values()) s();
    this.stoppers.clear();
  }

  resources(): KubeResource[] {
    return this.store.resources();
  }

  resourceVersion(kind: string): string | undefined {
    return this.versions.get(kind);
  }

  private typed(k: WatchedKind, obj: unknown): unknown {
    // List items come without kind/apiVersion.
    return obj && typeof obj === 'object' ? { apiVersion: k.apiVersion, kind: k.kind, ...(obj as object) } : obj;
  }

  private accept(k: WatchedKind, raw: unknown): boolean {
    if (k.kind === 'Secret' && !isCertificateSecret(raw)) return false;
    const v = validateResource(this.typed(k, raw));
    if (v.ok === 'ignored') return false;
    const issues = v.warnings.slice();
    let changed = false;
    if (v.ok) changed = this.store.upsert({ resource: v.resource, file: '(kubernetes)', documentIndex: 0 });
    else issues.push(...v.errors);
    if (issues.length > 0) this.opts.onIssues?.(issues);
    return changed;
  }

  private async relist(k: WatchedKind): Promise<void> {
    if (this.stopped) return;
    this.listCount.set(k.kind, (this.listCount.get(k.kind) ?? 0) + 1);
    const { items, resourceVersion } = await this.opts.transport.list(k);
    // Replace this kind's content: drop what the list no longer has.
    const seen = new Set<string>();
    for (const raw of items) {
      this.accept(k, raw);
      const t = this.typed(k, raw) as { kind: string; metadata?: { name?: string; namespace?: string } };
      seen.add(resourceKey(t));
    }
    for (const r of this.store.resources()) if (r.kind === k.kind && !seen.has(resourceKey(r))) this.store.delete(resourceKey(r));
    this.versions.set(k.kind, resourceVersion);
    await this.watch(k);
  }

  private async watch(k: WatchedKind): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    const stop = await this.opts.transport.watch(
      k,
      this.versions.get(k.kind) ?? '',
      (type, obj) => {
        const rv = (obj as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
        if (type === 'ERROR') {
          if (isGone(obj)) gone = true;
          return;
        }
        if (rv) this.versions.set(k.kind, rv);
        if (type === 'BOOKMARK') return;
        this.opts.onEvent?.(k, type);
        let changed: boolean;
        if (type === 'DELETED') changed = this.store.delete(resourceKey(this.typed(k, obj) as KubeResource));
        else changed = this.accept(k, obj);
        if (changed) this.opts.onChange(this.store.resources());
      },
      (err) => {
        this.stoppers.delete(k.kind);
        if (this.stopped) return;
        const again = (): void => {
          const next = gone || isGone(err) ? this.relist(k).then(() => this.opts.onChange(this.store.resources())) : this.watch(k);
          next.catch((e: unknown) => {
            this.opts.onIssues?.([{ level: 'error', kind: k.kind, namespace: '', name: '(watch)', field: '', message: `list/watch failed: ${(e as Error).message}` }]);
            setTimeout(again, this.opts.retryMs ?? 1000).unref();
          });
        };
        if (err && !(gone || isGone(err))) setTimeout(again, this.opts.retryMs ?? 1000).unref();
        else again();
      },
    );
    this.stoppers.set(k.kind, stop);
  }
}

export { formatIssue };
