/**
 * One collection of the Kubernetes API kept in memory (an informer): list, then watch from
 * the list's resourceVersion; a watch that ends is resumed, a 410 Gone relists, a failure is
 * retried with backoff (100 ms doubling to 1 min by default) forever. Objects that the
 * selectors should have excluded are filtered here too.
 */
import { Backoff } from './keyed-reconciler.js';
import { statusOf, withQuery, type KubeApi, type KubeObject } from './kube-api.js';

export interface ListWatchOptions {
  readonly api: KubeApi;
  /** The collection, e.g. `/api/v1/namespaces`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Objects for which this is false are ignored (what the selectors mean, checked locally). */
  readonly filter?: (obj: KubeObject) => boolean;
  readonly onUpsert: (obj: KubeObject) => void;
  readonly onDelete: (obj: KubeObject) => void;
  readonly onError?: (message: string) => void;
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

export const objectKey = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

const isGone = (e: unknown): boolean => statusOf(e) === 410 || /\b410\b|Expired|Gone/.test(String((e as { message?: unknown })?.message ?? ''));

export class ListWatch {
  private readonly cache = new Map<string, KubeObject>();
  private resourceVersion = '';
  private stopWatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff: Backoff;
  private markSynced!: () => void;
  /** Resolves once the first list was delivered. */
  readonly synced = new Promise<void>((r) => (this.markSynced = r));

  constructor(private readonly o: ListWatchOptions) {
    this.backoff = new Backoff(o.retry?.initialMs ?? 100, o.retry?.maxMs ?? 60_000);
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  objects(): KubeObject[] {
    return [...this.cache.values()];
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  private selectors(): Record<string, string> {
    const q: Record<string, string> = {};
    if (this.o.labelSelector) q.labelSelector = this.o.labelSelector;
    if (this.o.fieldSelector) q.fieldSelector = this.o.fieldSelector;
    return q;
  }

  private wanted(o: KubeObject): boolean {
    return this.o.filter ? this.o.filter(o) : true;
  }

  private later(what: () => void, err: unknown, doing: string): void {
    if (this.stopped) return;
    const delay = this.backoff.next();
    if (err !== undefined) this.o.onError?.(`${doing} ${this.o.path}${this.o.labelSelector ? ` (labels ${this.o.labelSelector})` : ''}: ${(err as Error)?.message ?? String(err)}; retrying in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}`);
    this.timer = setTimeout(what, delay);
    this.timer.unref();
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let list;
    try {
      list = await this.o.api.list(withQuery(this.o.path, this.selectors()));
    } catch (e) {
      return this.later(() => void this.relist(), e, 'cannot list');
    }
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const item of list.items) {
      if (!this.wanted(item)) continue;
      const k = objectKey(item);
      seen.add(k);
      this.cache.set(k, item);
      this.o.onUpsert(item);
    }
    for (const [k, old] of this.cache) {
      if (seen.has(k)) continue;
      this.cache.delete(k);
      this.o.onDelete(old);
    }
    this.resourceVersion = list.resourceVersion;
    this.markSynced();
    await this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    const began = Date.now();
    const onEvent = (type: string, obj: KubeObject): void => {
      if (this.stopped) return;
      if (type === 'ERROR') {
        if (isGone(obj)) gone = true;
        return;
      }
      const rv = obj?.metadata?.resourceVersion;
      if (rv) this.resourceVersion = rv;
      if (type === 'BOOKMARK') return;
      const k = objectKey(obj);
      if (type === 'DELETED' || !this.wanted(obj)) {
        const old = this.cache.get(k);
        if (old && this.cache.delete(k)) this.o.onDelete(obj);
        return;
      }
      this.cache.set(k, obj);
      this.o.onUpsert(obj);
    };
    const onDone = (err?: unknown): void => {
      this.stopWatch = undefined;
      if (this.stopped) return;
      if (gone || isGone(err)) return void this.relist();
      // A watch the API server closed after a while is simply resumed; one that ends at once
      // (or failed) waits, so a broken server is not hammered.
      if (err === undefined && Date.now() - began > 1000) {
        this.backoff.reset();
        return void this.watch();
      }
      this.later(() => void this.watch(), err, 'watch of');
    };
    try {
      this.stopWatch = await this.o.api.watch(this.o.path, { ...this.selectors(), resourceVersion: this.resourceVersion }, onEvent, onDone);
      if (this.stopped) this.stopWatch();
    } catch (e) {
      if (isGone(e)) return this.relist();
      this.later(() => void this.watch(), e, 'cannot watch');
    }
  }
}
