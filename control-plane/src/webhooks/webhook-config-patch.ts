/**
 * What the control plane changes in the webhook configurations of its revision (pure
 * functions; undefined = nothing to change):
 * - a MutatingWebhookConfiguration: `clientConfig.caBundle` of each webhook whose name ends
 *   in `sidecar-injector.istio.io`;
 * - a ValidatingWebhookConfiguration: `caBundle` of every webhook and, once the control
 *   plane saw its webhook reject a bad object, `failurePolicy: Fail`.
 */
import { INJECTOR_WEBHOOK_SUFFIX } from '@minimesh/mesh';
import type { KubeObject } from '../kube/kube-api.js';

interface Webhook {
  name?: string;
  clientConfig?: { caBundle?: string; [k: string]: unknown };
  failurePolicy?: string;
  [k: string]: unknown;
}

/** The root PEM as a caBundle (base64 of the PEM text). */
export const caBundleOf = (rootPem: string): string => Buffer.from(rootPem).toString('base64');

function patched(config: KubeObject, change: (w: Webhook) => Webhook): KubeObject | undefined {
  const hooks = config.webhooks;
  if (!Array.isArray(hooks)) return undefined;
  let changed = false;
  const webhooks = hooks.map((w: Webhook) => {
    if (typeof w !== 'object' || w === null) return w;
    const next = change(w);
    if (next !== w) changed = true;
    return next;
  });
  return changed ? { ...config, webhooks } : undefined;
}

const withCaBundle = (w: Webhook, caBundle: string): Webhook => (w.clientConfig?.caBundle === caBundle ? w : { ...w, clientConfig: { ...w.clientConfig, caBundle } });

export function patchInjectorWebhooks(mwc: KubeObject, caBundle: string): KubeObject | undefined {
  return patched(mwc, (w) => (typeof w.name === 'string' && w.name.endsWith(INJECTOR_WEBHOOK_SUFFIX) ? withCaBundle(w, caBundle) : w));
}

export function patchValidatorWebhooks(vwc: KubeObject, caBundle: string, failClosed: boolean): KubeObject | undefined {
  return patched(vwc, (w) => {
    const next = withCaBundle(w, caBundle);
    return failClosed && next.failurePolicy !== 'Fail' ? { ...next, failurePolicy: 'Fail' } : next;
  });
}
