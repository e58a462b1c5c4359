/**
 * A Kubernetes API server on loopback, for tests: the real REST protocol client libraries
 * and controllers speak (discovery, list and watch with resourceVersions, bookmarks and 410
 * Gone, get, create, replace, patch, server-side apply, delete, dryRun=All, the status
 * subresource), CustomResourceDefinitions that add kinds, and admission webhooks called over
 * HTTPS with their caBundle. What it does not do: authentication, field managers' conflict
 * detection, garbage collection beyond a namespace's objects, controllers (Deployments get a
 * ready status only when asked, `deploymentsReadyAfterMs`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_COLLECTIONS, ISTIO_COLLECTIONS, collectionsOfCrd, groupVersion, type Collection } from './collections.js';
import { ObjectStore, asServed, kindKey, type EventType, type Obj } from './object-store.js';
import { groupList, resolvePath, resourceList } from './api-paths.js';
import { applyConfiguration, applyJsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { admit, AdmissionError, type AdmissionCall, type Operation, type ServiceResolver, type WebhookConfiguration } from './admission.js';
import { SelectorSyntaxError } from './label-selector.js';
import { TOKEN_REVIEW_PATH, TokenIssuer } from './token-review.js';

export interface FakeApiServerOptions {
  /** Serve Istio's kinds at v1 before any CRD is created (default true). */
  readonly istioKinds?: boolean;
  /** Where a webhook's Service really listens (webhooks named by `clientConfig.service`). */
  readonly resolveService?: ServiceResolver;
  /** Deployments written through the API get a ready status this many ms later (default: never). */
  readonly deploymentsReadyAfterMs?: number;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const resourceName = (c: Collection): string => (c.group ? `${c.plural}.${c.group}` : c.plural);
const notFound = (c: Collection, name: string): HttpError => new HttpError(404, 'NotFound', `${resourceName(c)} "${name}" not found`);
const WEBHOOK_KINDS = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

export class FakeApiServer {
  private readonly store = new ObjectStore();
  private readonly collections: Collection[];
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly requests: string[] = [];
  /** Every webhook call admission made, in order. */
  readonly admissionCalls: AdmissionCall[] = [];
  /** Watches answered with an ERROR Status 410. */
  goneAnswers = 0;
  readonly server = http.createServer((req, res) => void this.handle(req, res));
  /** Service-account tokens this server accepts in a TokenReview (`tokens.issue(ns, sa)`). */
  readonly tokens = new TokenIssuer();
  port = 0;

  constructor(private readonly opts: FakeApiServerOptions = {}) {
    this.collections = [...BUILTIN_COLLECTIONS, ...(opts.istioKinds === false ? [] : ISTIO_COLLECTIONS)];
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.store.watches) w.res.end();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A kubeconfig (YAML) whose current context is this server. */
  kubeconfig(namespace = 'default'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: tester\n  user:\n    token: not-checked',
      'contexts:',
      `- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: ${namespace}`,
      'current-context: fake',
      '',
    ].join('\n');
  }

  get resourceVersion(): number {
    return this.store.rv;
  }

  get stalled(): Set<string> {
    return this.store.stalled;
  }

  /** The collection of a kind (its first served version), or of apiVersion+kind. */
  collection(kind: string, apiVersion?: string): Collection {
    const c = this.collections.find((x) => x.kind === kind && (apiVersion === undefined || groupVersion(x) === apiVersion));
    if (!c) throw new Error(`the fake API server does not serve ${apiVersion ? `${apiVersion} ` : ''}${kind}`);
    return c;
  }

  /** Writes directly, as a controller would (no admission): create, update or delete. */
  write(type: EventType, kind: string, obj: Obj): number {
    const c = this.collection(kind, obj.apiVersion);
    this.store.write(type, c, obj);
    this.afterWrite(type, c, obj);
    return this.store.rv;
  }

  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.store.get(this.collection(kind), namespace, name);
  }

  list(kind: string, namespace?: string): Obj[] {
    return this.store.list(this.collection(kind), namespace);
  }

  /** Marks a Deployment ready (its status as the Deployment controller would write it). */
  setDeploymentReady(namespace: string, name: string): void {
    const d = this.get('Deployment', namespace, name);
    if (!d) throw new Error(`no Deployment ${namespace}/${name}`);
    const replicas = ((d.spec as { replicas?: number } | undefined)?.replicas ?? 1) as number;
    const gen = (d.metadata.generation as number | undefined) ?? 1;
    const status = { observedGeneration: gen, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }] };
    this.store.write('MODIFIED', this.collection('Deployment'), { ...d, status });
  }

  /** Drops the event log up to now: a watch from an older version gets 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  /** A BOOKMARK on every open watch of `kind` (sent only to watches that asked for them). */
  bookmark(kind: string): void {
    const c = this.collection(kind);
    for (const w of this.store.watches) if (w.key === kindKey(c)) this.store.send(w, 'BOOKMARK', { apiVersion: groupVersion(c), kind, metadata: { resourceVersion: String(this.store.rv) } });
  }

  /** The server ends every open watch (its request timeout, a restart). */
  endWatches(): void {
    for (const w of this.store.watches) w.res.end();
    this.store.watches.clear();
  }

  openWatches(kind: string): number {
    const k = kindKey(this.collection(kind));
    return [...this.store.watches].filter((w) => w.key === k).length;
  }

  private afterWrite(type: EventType, c: Collection, obj: Obj): void {
    if (c.kind === 'CustomResourceDefinition') {
      const added = collectionsOfCrd(obj as Parameters<typeof collectionsOfCrd>[0]);
      for (const n of added) {
        const i = this.collections.findIndex((x) => x.group === n.group && x.version === n.version && x.kind === n.kind);
        if (type === 'DELETED') {
          if (i >= 0) this.collections.splice(i, 1);
        } else if (i >= 0) this.collections[i] = n;
        else this.collections.push(n);
      }
    }
    if (c.kind === 'Namespace' && type === 'DELETED') {
      for (const x of this.collections) if (x.namespaced) for (const o of this.store.list(x, obj.metadata.name)) this.store.write('DELETED', x, o);
    }
    if (c.kind === 'Deployment' && type !== 'DELETED' && this.opts.deploymentsReadyAfterMs !== undefined) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.get('Deployment', obj.metadata.namespace, obj.metadata.name)) this.setDeploymentReady(obj.metadata.namespace!, obj.metadata.name);
      }, this.opts.deploymentsReadyAfterMs);
      this.timers.add(t);
    }
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests.push(req.method === 'GET' ? (req.url ?? '') : `${req.method} ${req.url ?? ''}`);
    const url = new URL(req.url ?? '/', 'http://fake');
    try {
      if (req.method === 'GET' && url.pathname.replace(/\/$/, '') === '/version') return this.json(res, 200, { major: '1', minor: '30', gitVersion: 'v1.30.0' });
      if (req.method === 'GET' && url.pathname === '/api') return this.json(res, 200, { kind: 'APIVersions', versions: ['v1'] });
      if (req.method === 'GET' && url.pathname === '/apis') return this.json(res, 200, groupList(this.collections));
      if (req.method === 'POST' && url.pathname === TOKEN_REVIEW_PATH) {
        const { code, object } = this.tokens.review(await readBody(req));
        return this.json(res, code, object);
      }
      const target = resolvePath(url.pathname, this.collections);
      if (!target) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      if (target.what === 'discovery') {
        if (req.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}`);
        return this.json(res, 200, resourceList(target.collections));
      }
      if (req.method === 'GET') return this.read(target, url, res);
      const body = req.method === 'DELETE' ? undefined : await readBody(req);
      const { code, object } = await this.change(req.method ?? '', req.headers['content-type'] ?? '', target, body, url);
      return this.json(res, code, object);
    } catch (e) {
      if (e instanceof HttpError || e instanceof AdmissionError) return this.status(res, e.code, e.reason, e.message);
      if (e instanceof PatchError || e instanceof SelectorSyntaxError) return this.status(res, 400, 'BadRequest', e.message);
      return this.status(res, 500, 'InternalError', (e as Error).message);
    }
  }

  private read(target: Exclude<ReturnType<typeof resolvePath>, undefined>, url: URL, res: http.ServerResponse): void {
    if (target.what === 'object') {
      const o = this.store.get(target.collection, target.namespace, target.name);
      if (!o) throw notFound(target.collection, target.name);
      return this.json(res, 200, asServed(o, target.collection));
    }
    if (target.what !== 'collection') return;
    const c = target.collection;
    const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
    const watch = url.searchParams.get('watch');
    if (watch === 'true' || watch === '1') return this.watch(c, target.namespace, labelSelector, url, res);
    const items = this.store
      .list(c, target.namespace, labelSelector)
      .map((o) => asServed(o, c))
      .map((o) => (c.group ? o : { ...o, apiVersion: undefined, kind: undefined })); // built-in types' items carry no kind/apiVersion
    this.json(res, 200, { kind: `${c.kind}List`, apiVersion: groupVersion(c), metadata: { resourceVersion: String(this.store.rv) }, items });
  }

  private watch(c: Collection, namespace: string | undefined, labelSelector: string | undefined, url: URL, res: http.ServerResponse): void {
    const from = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    // "0" or absent: start from now (the API server would send the current state first).
    const since = from && from !== '0' ? Number(from) : this.store.rv;
    const w = { key: kindKey(c), collection: c, namespace, labelSelector, res };
    if (!this.store.openWatch(w, since)) {
      this.goneAnswers++;
      this.store.send(w, 'ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${since} (${this.store.compactedTo})`, reason: 'Expired', code: 410 });
      res.end();
    }
  }

  /** POST, PUT, PATCH, DELETE: the new object through admission, then stored unless a dry run. */
  private async change(method: string, contentType: string, target: Exclude<ReturnType<typeof resolvePath>, undefined>, body: unknown, url: URL): Promise<{ code: number; object: unknown }> {
    if (target.what === 'discovery') throw new HttpError(405, 'MethodNotAllowed', 'discovery is read-only');
    const c = target.collection;
    const dryRun = url.searchParams.get('dryRun') === 'All';
    let name: string;
    let namespace = c.namespaced ? target.namespace : undefined;
    let old: Obj | undefined;
    let next: Obj | undefined;
    let op: Operation;
    const asObj = (b: unknown): Obj => {
      if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new HttpError(400, 'BadRequest', 'the request body is not an object');
      const o = b as Obj;
      if (o.kind !== undefined && o.kind !== c.kind) throw new HttpError(400, 'BadRequest', `the body's kind ${o.kind} does not match ${c.kind}`);
      o.metadata ??= { name: '' };
      return o;
    };
    if (target.what === 'collection') {
      if (method !== 'POST') throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed on a collection here`);
      next = asObj(body);
      name = next.metadata.name;
      if (!name) throw new HttpError(422, 'Invalid', `${c.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
      if (c.namespaced) {
        if (next.metadata.namespace && namespace && next.metadata.namespace !== namespace) throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
        namespace ??= next.metadata.namespace;
      }
      if (this.store.get(c, namespace, name)) throw new HttpError(409, 'AlreadyExists', `${resourceName(c)} "${name}" already exists`);
      op = 'CREATE';
    } else {
      name = target.name;
      old = this.store.get(c, namespace, name);
      const isApply = method === 'PATCH' && contentType.startsWith('application/apply-patch');
      if (!old && !isApply) throw notFound(c, name);
      op = old ? 'UPDATE' : 'CREATE';
      if (method === 'DELETE') op = 'DELETE';
      else if (method === 'PUT') {
        next = asObj(body);
        const rv = next.metadata.resourceVersion;
        if (rv && rv !== old!.metadata.resourceVersion) throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${resourceName(c)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      } else if (method === 'PATCH') {
        if (isApply && !url.searchParams.get('fieldManager')) throw new HttpError(400, 'BadRequest', 'PATCH, application/apply-patch+yaml requires fieldManager to be set');
        if (isApply) next = applyConfiguration(old ?? {}, asObj(body)) as Obj;
        else if (contentType.startsWith('application/merge-patch+json')) next = mergePatch(old, body) as Obj;
        else if (contentType.startsWith('application/strategic-merge-patch+json')) next = strategicMergePatch(old, body) as Obj;
        else if (contentType.startsWith('application/json-patch+json')) next = applyJsonPatch(old, body) as Obj;
        else throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`);
      } else throw new HttpError(405, 'MethodNotAllowed', `${method} is not allowed`);
      if (next) {
        if (next.metadata?.name && next.metadata.name !== name) throw new HttpError(400, 'BadRequest', `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
        next.metadata = { ...next.metadata, name };
        if (target.status) next = { ...(old as Obj), status: next.status };
        else if (c.status && old) next = { ...next, status: old.status };
      }
    }
    if (c.namespaced && namespace === undefined) namespace = 'default';
    if (next) {
      if (c.namespaced) next.metadata.namespace = namespace;
      const specOf = (o: Obj | undefined): string => JSON.stringify({ ...(o ?? {}), metadata: undefined, status: undefined, apiVersion: undefined, kind: undefined });
      const gen = (old?.metadata.generation as number | undefined) ?? 0;
      next.metadata.generation = !old ? 1 : specOf(old) !== specOf(next) ? gen + 1 : gen;
    }
    if (op === 'CREATE' && c.namespaced && !this.store.get(this.collection('Namespace'), undefined, namespace!)) throw new HttpError(404, 'NotFound', `namespaces "${namespace}" not found`);
    const statusWrite = target.what === 'object' && target.status;
    if (!WEBHOOK_KINDS.has(c.kind) && !statusWrite) {
      const nsObj = namespace ? this.store.get(this.collection('Namespace'), undefined, namespace) : undefined;
      const admitted = await admit(
        { operation: op, collection: c, object: next, oldObject: old, name, namespace, namespaceLabels: nsObj?.metadata.labels, dryRun },
        this.store.list(this.collection('MutatingWebhookConfiguration'), undefined) as unknown as WebhookConfiguration[],
        this.store.list(this.collection('ValidatingWebhookConfiguration'), undefined) as unknown as WebhookConfiguration[],
        this.opts.resolveService,
        (call) => this.admissionCalls.push(call),
      );
      if (next && admitted) next = admitted as Obj;
    }
    if (op === 'DELETE') {
      if (!dryRun) {
        this.store.write('DELETED', c, old!);
        this.afterWrite('DELETED', c, old!);
      }
      return { code: 200, object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: c.plural } } };
    }
    if (dryRun) return { code: op === 'CREATE' ? 201 : 200, object: asServed(next!, c) };
    if (c.kind === 'CustomResourceDefinition') next!.status = { conditions: [{ type: 'Established', status: 'True', reason: 'InitialNamesAccepted' }, { type: 'NamesAccepted', status: 'True' }] };
    const stored = this.store.write(op === 'CREATE' ? 'ADDED' : 'MODIFIED', c, next!);
    this.afterWrite(op === 'CREATE' ? 'ADDED' : 'MODIFIED', c, stored);
    return { code: op === 'CREATE' ? 201 : 200, object: asServed(stored, c) };
  }
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      if (!text.trim()) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        try {
          resolve(parseYaml(text));
        } catch (e) {
          reject(new HttpError(400, 'BadRequest', `the request body is neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`));
        }
      }
    });
  });
}
