/**
 * `minimesh install`, as `istioctl install` runs: the namespace, then each component applied
 * with server-side apply in Istio's order (Istio core, then Istiod, then the gateways side by
 * side), each waited for until ready and reported with its ✔ line; then the default-revision
 * tag webhooks, and the canonical injector's selectors deactivated.
 */
import type { Writable } from 'node:stream';
import { ISTIO_NAMESPACE, INJECTOR_WEBHOOK_CONFIG } from '@minimesh/mesh';
import { renderDefaultRevisionTag, deactivatedInjectorPatch, type InstallValues, type KubeObject, type RenderedComponent } from '../index.js';
import { KubeApiError, type KubeApi } from './kube-api.js';
import { InstallProgress } from './progress.js';
import { goDuration, notReadyReason, WAITED_KINDS, waitName } from './readiness.js';

/** The annotation on the istio-system Namespace holding the values installed (verify-install reads it). */
export const INSTALL_VALUES_ANNOTATION = 'minimesh.io/install-values';

export interface InstallRun {
  readonly api: KubeApi;
  readonly values: InstallValues;
  readonly components: readonly RenderedComponent[];
  readonly out: Writable & { isTTY?: boolean };
  readonly readinessTimeoutMs: number;
  readonly pollMs?: number;
}

class ComponentError extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CRDs first, so a component's custom resources (none today) find their kinds. */
const applyOrder = (objs: readonly KubeObject[]): KubeObject[] => [...objs].sort((a, b) => Number(b.kind === 'CustomResourceDefinition') - Number(a.kind === 'CustomResourceDefinition'));

async function applyComponent(r: InstallRun, c: RenderedComponent, progress: InstallProgress): Promise<void> {
  progress.waitingFor(c.title, []);
  for (const o of applyOrder(c.objects)) {
    try {
      await r.api.apply(o);
    } catch (e) {
      throw new ComponentError(`failed to update resource with server-side apply for obj ${waitName(o)}: ${(e as Error).message}`);
    }
  }
  const waited = c.objects.filter((o) => WAITED_KINDS.has(o.kind));
  const deadline = Date.now() + r.readinessTimeoutMs;
  for (;;) {
    const pending: { name: string; reason: string }[] = [];
    for (const o of waited) {
      const live = await r.api.get(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
      const reason = live ? notReadyReason(live) : 'not found';
      if (reason) pending.push({ name: waitName(o), reason });
    }
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new ComponentError(`failed to wait for resource: resources not ready after ${goDuration(r.readinessTimeoutMs)}: context deadline exceeded\n${pending.map((p) => `${p.name} (${p.reason})`).join('\n')}`);
    }
    progress.waitingFor(c.title, pending.map((p) => p.name));
    await sleep(r.pollMs ?? 500);
  }
}

/** Istio's stages: Base, then Pilot, then the gateways together. */
function stages(components: readonly RenderedComponent[]): RenderedComponent[][] {
  const by = (n: string): RenderedComponent[] => components.filter((c) => c.component === n);
  return [by('Base'), by('Pilot'), [...by('IngressGateways'), ...by('EgressGateways')]].filter((s) => s.length > 0);
}

/** Runs the install; resolves with the exit code. */
export async function runInstall(r: InstallRun): Promise<number> {
  const progress = new InstallProgress(r.out);
  try {
    if (r.components.length > 0) {
      await r.api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ISTIO_NAMESPACE, annotations: { [INSTALL_VALUES_ANNOTATION]: JSON.stringify(r.values) } } });
    }
    for (const stage of stages(r.components)) {
      const results = await Promise.allSettled(stage.map((c) => applyComponent(r, c, progress).then(() => progress.done(c.title))));
      const failed = results.map((x, i) => ({ x, c: stage[i] })).filter((f) => f.x.status === 'rejected');
      for (const f of failed) progress.failed(f.c.title, ((f.x as PromiseRejectedResult).reason as Error).message);
      if (failed.length > 0) {
        progress.stop();
        r.out.write('\nError: failed to install manifests: errors occurred during operation\n');
        return 1;
      }
    }
    progress.print('✔ Installation complete');
    if (r.components.some((c) => c.component === 'Pilot')) {
      await makeDefaultRevision(r);
      progress.print('Made this installation the default for injection and validation.');
    }
    return 0;
  } catch (e) {
    progress.stop();
    const msg = e instanceof KubeApiError || e instanceof Error ? e.message : String(e);
    r.out.write(`\nError: ${msg}\n`);
    return 1;
  } finally {
    progress.stop();
  }
}

/** The default-revision tag webhooks (with the canonical webhook's caBundle if the control plane has patched it in already), then the canonical injector deactivated. */
async function makeDefaultRevision(r: InstallRun): Promise<void> {
  const canonical = await r.api.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', INJECTOR_WEBHOOK_CONFIG);
  const caBundle = (canonical?.webhooks as { clientConfig?: { caBundle?: string } }[] | undefined)?.find((w) => w.clientConfig?.caBundle)?.clientConfig?.caBundle;
  for (const o of renderDefaultRevisionTag(r.values, caBundle)) await r.api.apply(o);
  // A server-side apply of the whole object with every selector set to never match: the
  // webhooks list merges by name, so the caBundle the control plane owns stays.
  await r.api.apply(deactivatedInjectorPatch(r.values.namespace));
}
