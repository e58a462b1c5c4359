/**
 * Admission as the API server does it: for a create, update or delete, every mutating
 * webhook whose rules, namespaceSelector and objectSelector match is called (in order, its
 * JSONPatch applied), then every validating one. A webhook is called over HTTPS at its
 * `clientConfig.url`, or at its `clientConfig.service` resolved by the test, and its
 * certificate is verified against `caBundle` for the name `<service>.<namespace>.svc`.
 * A call that fails is decided by `failurePolicy` (Fail by default).
 */
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { applyJsonPatch } from './patch.js';
import { matchesLabelSelector, type LabelSelector } from './label-selector.js';
import type { Collection } from './collections.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface Webhook {
  name: string;
  clientConfig?: { url?: string; caBundle?: string; service?: { namespace: string; name: string; path?: string; port?: number } };
  rules?: Rule[];
  failurePolicy?: 'Fail' | 'Ignore';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  timeoutSeconds?: number;
}

export interface WebhookConfiguration {
  kind: string;
  metadata: { name: string };
  webhooks?: Webhook[];
}

/** Where the test's webhook server for a Service really listens. */
export type ServiceResolver = (namespace: string, name: string, port: number) => { host: string; port: number } | undefined;

export interface AdmissionCall {
  readonly webhook: string;
  readonly configuration: string;
  readonly operation: Operation;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly dryRun: boolean;
  readonly outcome: 'allowed' | 'denied' | 'patched' | 'error-ignored' | 'error';
  readonly detail?: string;
}

/** An admission failure: the HTTP status and message the API server answers with. */
export class AdmissionError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface AdmissionInput {
  readonly operation: Operation;
  readonly collection: Collection;
  readonly object: Record<string, unknown> | undefined;
  readonly oldObject: Record<string, unknown> | undefined;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly namespaceLabels: Record<string, string> | undefined;
  readonly dryRun: boolean;
}

const any = (list: string[] | undefined, v: string): boolean => !list || list.includes('*') || list.includes(v);

function ruleMatches(r: Rule, a: AdmissionInput): boolean {
  const c = a.collection;
  if (!any(r.operations, a.operation) || !any(r.apiGroups, c.group) || !any(r.apiVersions, c.version) || !any(r.resources, c.plural)) return false;
  if (r.scope === 'Namespaced' && !c.namespaced) return false;
  if (r.scope === 'Cluster' && c.namespaced) return false;
  return true;
}

const labelsOf = (o: Record<string, unknown> | undefined): Record<string, string> => ((o?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {});

function webhookMatches(w: Webhook, a: AdmissionInput): boolean {
  if (!(w.rules ?? []).some((r) => ruleMatches(r, a))) return false;
  const obj = a.object ?? a.oldObject;
  if (!matchesLabelSelector(w.objectSelector, labelsOf(obj))) return false;
  if (a.collection.kind === 'Namespace') return matchesLabelSelector(w.namespaceSelector, labelsOf(obj));
  if (a.collection.namespaced) return matchesLabelSelector(w.namespaceSelector, a.namespaceLabels ?? {});
  return true;
}

interface ReviewResponse {
  uid?: string;
  allowed?: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patch?: string;
  patchType?: string;
}

function post(url: URL, servername: string, ca: string | undefined, body: string, timeoutMs: number, resolve: ServiceResolver | undefined, svc: Webhook['clientConfig']): Promise<ReviewResponse> {
  let host = url.hostname;
  let port = Number(url.port || 443);
  if (svc?.service) {
    const r = resolve?.(svc.service.namespace, svc.service.name, svc.service.port ?? 443);
    if (!r) return Promise.reject(new Error(`service "${svc.service.name}" in namespace "${svc.service.namespace}" has no endpoints`));
    ({ host, port } = r);
  }
  return new Promise((res, rej) => {
    const req = https.request(
      { host, port, path: `${url.pathname}${url.search}`, method: 'POST', servername, ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (r.statusCode !== 200) return rej(new Error(`the server responded with ${r.statusCode}: ${text.slice(0, 200)}`));
          try {
            const review = JSON.parse(text) as { response?: ReviewResponse };
            if (!review.response) return rej(new Error('the webhook answered an AdmissionReview without a response'));
            res(review.response);
          } catch {
            rej(new Error('the webhook answered something that is not JSON'));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (${timeoutMs} ms)`)));
    req.on('error', rej);
    req.end(body);
  });
}

/** Calls one webhook; resolves with its response, or rejects with the reason the call failed. */
async function call(w: Webhook, a: AdmissionInput, resolve: ServiceResolver | undefined): Promise<ReviewResponse> {
  const cc = w.clientConfig ?? {};
  let url: URL;
  let servername: string;
  if (cc.url) {
    url = new URL(cc.url);
    servername = url.hostname;
  } else if (cc.service) {
    const s = cc.service;
    url = new URL(`https://${s.name}.${s.namespace}.svc:${s.port ?? 443}${s.path ?? '/'}`);
    servername = `${s.name}.${s.namespace}.svc`;
  } else throw new Error('the webhook has neither clientConfig.url nor clientConfig.service');
  const timeoutMs = (w.timeoutSeconds ?? 10) * 1000;
  url.searchParams.set('timeout', `${timeoutMs / 1000}s`);
  const ca = cc.caBundle ? Buffer.from(cc.caBundle, 'base64').toString() : undefined;
  const c = a.collection;
  const uid = randomUUID();
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: c.group, version: c.version, kind: c.kind },
      resource: { group: c.group, version: c.version, resource: c.plural },
      requestKind: { group: c.group, version: c.version, kind: c.kind },
      requestResource: { group: c.group, version: c.version, resource: c.plural },
      name: a.name,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation,
      userInfo: { username: 'minikube-user', groups: ['system:masters', 'system:authenticated'] },
      object: a.object ?? null,
      oldObject: a.oldObject ?? null,
      dryRun: a.dryRun,
      options: { apiVersion: 'meta.k8s.io/v1', kind: `${a.operation[0]}${a.operation.slice(1).toLowerCase()}Options` },
    },
  };
  const resp = await post(url, servername, ca, JSON.stringify(review), timeoutMs, resolve, cc);
  if (resp.uid !== uid) throw new Error(`expected response.uid="${uid}", got "${resp.uid ?? ''}"`);
  return resp;
}

/**
 * Runs admission; resolves with the object to store (patched by mutating webhooks), or
 * rejects with an AdmissionError carrying the API server's status and message.
 */
export async function admit(
  a: AdmissionInput,
  mutating: readonly WebhookConfiguration[],
  validating: readonly WebhookConfiguration[],
  resolve: ServiceResolver | undefined,
  record: (c: AdmissionCall) => void,
): Promise<Record<string, unknown> | undefined> {
  let obj = a.object;
  const rec = (cfg: WebhookConfiguration, w: Webhook, outcome: AdmissionCall['outcome'], detail?: string): void =>
    record({ webhook: w.name, configuration: cfg.metadata.name, operation: a.operation, kind: a.collection.kind, name: a.name, namespace: a.namespace, dryRun: a.dryRun, outcome, detail });
  for (const [cfgs, isMutating] of [
    [mutating, true],
    [validating, false],
  ] as const) {
    for (const cfg of cfgs) {
      for (const w of cfg.webhooks ?? []) {
        const input = { ...a, object: obj };
        if (!webhookMatches(w, input)) continue;
        let resp: ReviewResponse;
        try {
          resp = await call(w, input, resolve);
        } catch (e) {
          const why = (e as Error).message;
          if (w.failurePolicy === 'Ignore') {
            rec(cfg, w, 'error-ignored', why);
            continue;
          }
          rec(cfg, w, 'error', why);
          throw new AdmissionError(500, 'InternalError', `Internal error occurred: failed calling webhook "${w.name}": ${why}`);
        }
        if (!resp.allowed) {
          const msg = resp.status?.message ?? '';
          rec(cfg, w, 'denied', msg);
          throw new AdmissionError(resp.status?.code || 400, resp.status?.reason || 'BadRequest', `admission webhook "${w.name}" denied the request${msg ? `: ${msg}` : ''}`);
        }
        if (isMutating && resp.patch && obj) {
          if (resp.patchType !== 'JSONPatch') throw new AdmissionError(500, 'InternalError', `Internal error occurred: webhook "${w.name}": unsupported patchType ${resp.patchType ?? '(none)'}`);
          try {
            obj = applyJsonPatch(obj, JSON.parse(Buffer.from(resp.patch, 'base64').toString())) as Record<string, unknown>;
          } catch (e) {
            rec(cfg, w, 'error', (e as Error).message);
            throw new AdmissionError(500, 'InternalError', `Internal error occurred: webhook "${w.name}": ${(e as Error).message}`);
          }
          rec(cfg, w, 'patched');
        } else rec(cfg, w, 'allowed');
      }
    }
  }
  return obj;
}
