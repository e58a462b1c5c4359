/**
 * The Kubernetes API as `install`, `uninstall` and `verify-install` use it: server-side apply
 * with istioctl's field manager, reads, deletes, and lists by label across the kinds an
 * install creates. One KubeConfig (the file from --kubeconfig, else $KUBECONFIG or
 * ~/.kube/config, else in-cluster), optionally another --context.
 */
import { KubeConfig, KubernetesObjectApi, PatchStrategy, VersionApi, type KubernetesObject } from '@kubernetes/client-node';
import { INSTALL_FIELD_MANAGER } from '@minimesh/mesh';
import type { KubeObject } from '../index.js';

export interface KubeTarget {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The API server's message (its Status body), not the client library's wrapping. */
export function apiError(e: unknown): KubeApiError {
  const err = e as { code?: number; body?: unknown; message?: string };
  let message = err.message ?? String(e);
  if (typeof err.body === 'string') {
    try {
      message = (JSON.parse(err.body) as { message?: string }).message ?? message;
    } catch {
      /* not JSON: keep the client's message */
    }
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(message)) message = `the Kubernetes API server cannot be reached: ${message.split('\n')[0]}`;
  return new KubeApiError(err.code ?? 0, message);
}

export function loadKubeConfig(t: KubeTarget): KubeConfig {
  const kc = new KubeConfig();
  if (t.kubeconfig) kc.loadFromFile(t.kubeconfig);
  else kc.loadFromDefault();
  if (t.context) {
    if (!kc.getContextObject(t.context)) throw new Error(`context "${t.context}" does not exist in the kubeconfig`);
    kc.setCurrentContext(t.context);
  }
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured: give --kubeconfig FILE, set KUBECONFIG, or start minikube');
  return kc;
}

/** The kinds an install can create, for listing what carries its labels (uninstall, verify). */
export const INSTALLED_KINDS: readonly { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', namespaced: false },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', namespaced: false },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespaced: true },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespaced: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', namespaced: false },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', namespaced: false },
];

export class KubeApi {
  private readonly api: KubernetesObjectApi;

  constructor(readonly kc: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }

  /** Server-side apply (field manager `istio-operator`, forced), as istioctl applies. */
  async apply(o: KubeObject, dryRun = false): Promise<KubeObject> {
    try {
      return (await this.api.patch(structuredClone(o) as KubernetesObject, undefined, dryRun ? 'All' : undefined, INSTALL_FIELD_MANAGER, true, PatchStrategy.ServerSideApply)) as unknown as KubeObject;
    } catch (e) {
      throw apiError(e);
    }
  }

  /** Merge patch (the tag step's deactivation of the canonical injector). */
  async mergePatch(o: KubeObject): Promise<void> {
    try {
      await this.api.patch(structuredClone(o) as KubernetesObject, undefined, undefined, INSTALL_FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
    } catch (e) {
      throw apiError(e);
    }
  }

  /** The object, or undefined when it does not exist. */
  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    try {
      return (await this.api.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })) as unknown as KubeObject;
    } catch (e) {
      const err = apiError(e);
      if (err.code === 404) return undefined;
      throw err;
    }
  }

  async delete(o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<boolean> {
    try {
      await this.api.delete({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } });
      return true;
    } catch (e) {
      const err = apiError(e);
      if (err.code === 404) return false;
      throw err;
    }
  }

  /** Every object of a kind carrying a label (all namespaces). A kind the server lacks lists nothing. */
  async listLabelled(apiVersion: string, kind: string, labelSelector: string): Promise<KubeObject[]> {
    try {
      const list = await this.api.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, labelSelector);
      return list.items.map((o) => ({ ...(o as unknown as KubeObject), apiVersion, kind }));
    } catch (e) {
      const err = apiError(e);
      if (err.code === 404 || /Unrecognized API version and kind/.test(err.message)) return [];
      throw err;
    }
  }

  /** GET /version: the cluster's Kubernetes version. */
  async version(): Promise<{ major: string; minor: string; gitVersion: string }> {
    try {
      return await this.kc.makeApiClient(VersionApi).getCode();
    } catch (e) {
      throw apiError(e);
    }
  }
}
