/**
 * Keeps the webhook configurations of the control plane's revision (label
 * `istio.io/rev=<rev>`) pointing at it, as istiod's patchers do: both kinds are watched, and
 * each one new or changed (an apply that reset its caBundle) is read, changed
 * (webhook-config-patch.ts) and written back (PUT at the version read: a concurrent change
 * is a 409, retried). Failures are retried with backoff forever. Once a validator's caBundle
 * is in place, the fail-close check starts; when it passes, every validator gets
 * `failurePolicy: Fail`.
 */
import { OPERATOR_LABELS } from '@minimesh/mesh';
import { KeyedReconciler } from '../kube/keyed-reconciler.js';
import { statusOf, type KubeApi, type KubeObject } from '../kube/kube-api.js';
import { ListWatch } from '../kube/list-watch.js';
import { FailCloseCheck } from './fail-close-check.js';
import { caBundleOf, patchInjectorWebhooks, patchValidatorWebhooks } from './webhook-config-patch.js';

export interface WebhookPatcherOptions {
  readonly api: KubeApi;
  readonly revision: string;
  /** Where the dry-run Gateway is tried (the control plane's namespace). */
  readonly namespace: string;
  /** The root the API server is to trust (PEM). */
  readonly rootPem: string;
  readonly log: (line: string) => void;
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

const GROUP_PATH = '/apis/admissionregistration.k8s.io/v1';
const KINDS = {
  mwc: { kind: 'MutatingWebhookConfiguration', path: `${GROUP_PATH}/mutatingwebhookconfigurations` },
  vwc: { kind: 'ValidatingWebhookConfiguration', path: `${GROUP_PATH}/validatingwebhookconfigurations` },
} as const;
type Which = keyof typeof KINDS;

export class WebhookPatcher {
  private readonly watches: Record<Which, ListWatch>;
  private readonly reconciler: KeyedReconciler;
  private readonly check: FailCloseCheck;
  private caBundle: string;
  private readonly lastError = new Map<string, string>();
  /** Writes done, for tests and the log. */
  patches = 0;

  constructor(private readonly o: WebhookPatcherOptions) {
    this.caBundle = caBundleOf(o.rootPem);
    this.reconciler = new KeyedReconciler((key) => this.reconcile(key), {
      ...o.retry,
      onError: (key, err) => {
        const msg = `cannot patch ${KINDS[key.split('/')[0] as Which].kind} ${key.split('/')[1]}: ${(err as Error).message}; retrying`;
        if (this.lastError.get(key) !== msg) o.log(msg);
        this.lastError.set(key, msg);
      },
    });
    this.check = new FailCloseCheck({ api: o.api, namespace: o.namespace, revision: o.revision, log: o.log, retry: o.retry, onRejected: () => this.enqueueAll('vwc') });
    const logged = new Set<string>();
    const watch = (which: Which): ListWatch =>
      new ListWatch({
        api: o.api,
        path: KINDS[which].path,
        labelSelector: `${OPERATOR_LABELS.rev}=${o.revision}`,
        filter: (c) => c.metadata?.labels?.[OPERATOR_LABELS.rev] === o.revision,
        onUpsert: (c) => this.reconciler.enqueue(`${which}/${c.metadata?.name ?? ''}`),
        onDelete: () => undefined,
        onError: (m) => {
          const key = m.replace(/; retrying in .*$/, '');
          if (!logged.has(key)) o.log(m);
          logged.add(key);
        },
        retry: o.retry,
      });
    this.watches = { mwc: watch('mwc'), vwc: watch('vwc') };
  }

  start(): void {
    this.watches.mwc.start();
    this.watches.vwc.start();
  }

  stop(): void {
    this.check.stop();
    this.reconciler.stop();
    this.watches.mwc.stop();
    this.watches.vwc.stop();
  }

  /** True once the webhook was seen rejecting the dry-run Gateway. */
  get failClosed(): boolean {
    return this.check.rejected;
  }

  get synced(): Promise<void> {
    return Promise.all([this.watches.mwc.synced, this.watches.vwc.synced]).then(() => undefined);
  }

  /** A new root (PEM): every configuration is patched again. */
  setRoot(rootPem: string): void {
    const next = caBundleOf(rootPem);
    if (next === this.caBundle) return;
    this.caBundle = next;
    this.enqueueAll('mwc');
    this.enqueueAll('vwc');
  }

  private enqueueAll(which: Which): void {
    for (const c of this.watches[which].objects()) this.reconciler.enqueue(`${which}/${c.metadata?.name ?? ''}`);
  }

  private async reconcile(key: string): Promise<void> {
    const [which, name] = key.split('/') as [Which, string];
    const { kind, path } = KINDS[which];
    let current: KubeObject;
    try {
      current = await this.o.api.get(`${path}/${encodeURIComponent(name)}`);
    } catch (e) {
      if (statusOf(e) === 404) return; // deleted meanwhile
      throw e;
    }
    if (current.metadata?.labels?.[OPERATOR_LABELS.rev] !== this.o.revision) return;
    const failClosed = which === 'vwc' && this.check.rejected;
    const next = which === 'mwc' ? patchInjectorWebhooks(current, this.caBundle) : patchValidatorWebhooks(current, this.caBundle, failClosed);
    if (next) {
      await this.o.api.replace(`${path}/${encodeURIComponent(name)}`, next);
      this.patches++;
      const what = describeChange(current, next);
      this.o.log(`patched ${kind} ${name}: ${what}`);
    }
    this.lastError.delete(key);
    if (which === 'vwc') this.check.kick();
  }
}

/** `caBundle of 4 webhooks`, `failurePolicy Fail on 1 webhook`, … */
function describeChange(before: KubeObject, after: KubeObject): string {
  type W = { clientConfig?: { caBundle?: string }; failurePolicy?: string };
  const b = (before.webhooks ?? []) as W[];
  const a = (after.webhooks ?? []) as W[];
  const ca = a.filter((w, i) => w?.clientConfig?.caBundle !== b[i]?.clientConfig?.caBundle).length;
  const fail = a.filter((w, i) => w?.failurePolicy !== b[i]?.failurePolicy).length;
  const n = (k: number): string => `${k} webhook${k === 1 ? '' : 's'}`;
  return [ca ? `caBundle on ${n(ca)}` : '', fail ? `failurePolicy Fail on ${n(fail)}` : ''].filter(Boolean).join(', ');
}
