/**
 * `minimesh uninstall`, as `istioctl uninstall` prunes: every object carrying the operator's
 * component label (and the default-revision tag webhooks), webhooks first so the API server
 * stops calling a control plane that is going away, CustomResourceDefinitions last and only
 * with --purge. The istio-system namespace itself stays, as with istioctl.
 */
import type { Writable } from 'node:stream';
import { OPERATOR_LABELS } from '@minimesh/mesh';
import type { KubeObject } from '../index.js';
import { INSTALLED_KINDS, type KubeApi } from './kube-api.js';

export interface UninstallRun {
  readonly api: KubeApi;
  readonly purge: boolean;
  readonly out: Writable;
}

/** What an uninstall would remove, in deletion order. */
export async function installedObjects(api: KubeApi, purge: boolean): Promise<KubeObject[]> {
  const found: KubeObject[] = [];
  const seen = new Set<string>();
  for (const k of INSTALLED_KINDS) {
    if (k.kind === 'CustomResourceDefinition' && !purge) continue;
    const selectors = [OPERATOR_LABELS.component, ...(k.kind.endsWith('WebhookConfiguration') ? ['istio.io/tag'] : [])];
    for (const sel of selectors) {
      for (const o of await api.listLabelled(k.apiVersion, k.kind, sel)) {
        const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push(o);
      }
    }
  }
  return found;
}

/** `Deployment:istio-system:istiod`, istioctl's name of a removed object. */
const removedName = (o: KubeObject): string => `${o.kind}:${o.metadata.namespace ?? ''}:${o.metadata.name}`;

export async function runUninstall(r: UninstallRun): Promise<number> {
  try {
    const objs = await installedObjects(r.api, r.purge);
    for (const o of objs) {
      if (await r.api.delete(o)) r.out.write(`  Removed ${removedName(o)}.\n`);
    }
    r.out.write(objs.length === 0 ? 'No minimesh resources found to remove.\n✔ Uninstall complete\n' : '✔ Uninstall complete\n');
    return 0;
  } catch (e) {
    r.out.write(`Error: failed to prune resources: ${(e as Error).message}\n`);
    return 1;
  }
}
