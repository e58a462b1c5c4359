/**
 * The live cluster as analysis input: one list of each kind the analyzers read, through the
 * same raw GET the control plane's Kubernetes source uses (kubeconfig, or in-cluster). A kind
 * whose API is not installed (404: no Istio CRDs yet) lists as empty.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeGetJson } from '../sources/kube-get.js';
import { ISTIO_API_VERSION, WATCHED_KINDS } from '../sources/kube-source.js';
import { analyzeObject, type AnalyzedResource } from './analyzed-resource.js';
import type { AnalysisMessage } from './analysis-message.js';

/** Kubernetes' own kinds the analyzers read, then Istio's networking kinds as the control plane watches them. */
export const ANALYZED_KINDS: readonly { apiVersion: string; kind: string; path: string }[] = [
  { apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods' },
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  // A Gateway's credentialName.
  { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets' },
  ...WATCHED_KINDS.filter((k) => k.apiVersion === ISTIO_API_VERSION),
];

/** `path` -> the API's JSON answer (a fake in tests). */
export type KubeGet = (path: string) => Promise<unknown>;

export async function listClusterResources(get: KubeGet): Promise<{ resources: AnalyzedResource[]; messages: AnalysisMessage[] }> {
  const lists = await Promise.all(
    ANALYZED_KINDS.map(async (k) => {
      try {
        const res = (await get(k.path)) as { items?: unknown[] };
        return { k, items: res.items ?? [] };
      } catch (e) {
        if (e instanceof KubeApiError && e.statusCode === 404) return { k, items: [] };
        throw e;
      }
    }),
  );
  const resources: AnalyzedResource[] = [];
  const messages: AnalysisMessage[] = [];
  for (const { k, items } of lists) {
    for (const item of items) {
      // List items come without kind and apiVersion.
      const r = analyzeObject({ apiVersion: k.apiVersion, kind: k.kind, ...(item as object) }, 'default');
      if (r.resource) resources.push(r.resource);
      messages.push(...r.messages);
    }
  }
  return { resources, messages };
}

/** A KubeGet from the kubeconfig (`path`, else the default one or in-cluster), with `context` if given. */
export async function kubeGetter(kubeconfig?: string, context?: string): Promise<KubeGet> {
  const inCluster = !!process.env.KUBERNETES_SERVICE_HOST;
  if (!kubeconfig && !inCluster && !process.env.KUBECONFIG && !fs.existsSync(path.join(os.homedir(), '.kube', 'config')))
    throw new Error('no kubeconfig (~/.kube/config, $KUBECONFIG or --kubeconfig); to analyze files alone: minimesh analyze --use-kube=false -f FILE|DIR');
  const k8s = await import('@kubernetes/client-node');
  const kc: KubeConfig = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else if (inCluster) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  return (p) => kubeGetJson(kc, p);
}
