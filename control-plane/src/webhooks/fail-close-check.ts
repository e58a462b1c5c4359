/**
 * Before the validating webhook may fail closed, the control plane proves the API server
 * reaches it: a dry-run create of a Gateway that asks to be rejected (annotation
 * `internal.istio.io/webhook-always-reject`) must come back "denied the request". Until it
 * does, it is tried again with backoff (100 ms doubling to 1 min), as istiod does.
 */
import { ALWAYS_REJECT_ANNOTATION, OPERATOR_LABELS } from '@minimesh/mesh';
import type { KubeApi, KubeObject } from '../kube/kube-api.js';
import { Backoff } from '../kube/keyed-reconciler.js';

export const INVALID_GATEWAY_NAME = 'invalid-gateway';

/** The Gateway: labelled with the revision so that this revision's webhook is the one asked. */
export function invalidGateway(namespace: string, revision: string): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { name: INVALID_GATEWAY_NAME, namespace, labels: { [OPERATOR_LABELS.rev]: revision }, annotations: { [ALWAYS_REJECT_ANNOTATION]: 'true' } },
    spec: {},
  };
}

/** Whether the dry run was refused by a webhook; else why not. */
export async function dryRunRejected(api: KubeApi, namespace: string, revision: string): Promise<{ rejected: boolean; reason: string }> {
  try {
    await api.create(`/apis/networking.istio.io/v1/namespaces/${encodeURIComponent(namespace)}/gateways`, invalidGateway(namespace, revision), { dryRun: true });
    return { rejected: false, reason: 'the API server accepted the invalid Gateway: the validation webhook was not called' };
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (message.includes('denied the request')) return { rejected: true, reason: message };
    return { rejected: false, reason: message };
  }
}

export interface FailCloseCheckOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly revision: string;
  readonly onRejected: () => void;
  readonly log: (line: string) => void;
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

export class FailCloseCheck {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private lastReason = '';
  private readonly backoff: Backoff;
  rejected = false;
  attempts = 0;

  constructor(private readonly o: FailCloseCheckOptions) {
    this.backoff = new Backoff(o.retry?.initialMs ?? 100, o.retry?.maxMs ?? 60_000);
  }

  /** Starts checking (again, from the shortest delay) unless it already succeeded or runs. */
  kick(): void {
    if (this.rejected || this.stopped) return;
    this.backoff.reset();
    if (this.running) return;
    clearTimeout(this.timer);
    void this.attempt();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    this.running = true;
    this.attempts++;
    const r = await dryRunRejected(this.o.api, this.o.namespace, this.o.revision);
    this.running = false;
    if (this.stopped) return;
    if (r.rejected) {
      this.rejected = true;
      this.o.log(`the validation webhook rejected the dry-run Gateway ${this.o.namespace}/${INVALID_GATEWAY_NAME}: its failurePolicy becomes Fail`);
      this.o.onRejected();
      return;
    }
    if (r.reason !== this.lastReason) this.o.log(`validation webhook not yet proven (failurePolicy stays as is): ${r.reason}; retrying with backoff`);
    this.lastReason = r.reason;
    this.timer = setTimeout(() => void this.attempt(), this.backoff.next());
    this.timer.unref();
  }
}
