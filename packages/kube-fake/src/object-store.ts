/**
 * The fake API server's etcd: one resourceVersion counter, the objects, an event log with
 * compaction, and the open watches those events are pushed to.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { groupVersion, type Collection } from './collections.js';
import { matchesSelectorString } from './label-selector.js';

export type Obj = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface StoredEvent {
  readonly rv: number;
  readonly key: string; // group/kind
  readonly type: EventType;
  readonly object: Obj;
}

export interface WatchRecord {
  readonly key: string; // group/kind
  readonly collection: Collection;
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly res: http.ServerResponse;
}

export const kindKey = (c: { group: string; kind: string }): string => `${c.group}/${c.kind}`;
const objectKey = (c: { group: string; kind: string }, ns: string | undefined, name: string): string => `${kindKey(c)}/${ns ?? ''}/${name}`;

/** The object as served at a collection's version (one stored copy for every served version). */
export const asServed = (o: Obj, c: Collection): Obj => ({ ...structuredClone(o), apiVersion: groupVersion(c), kind: c.kind });

export class ObjectStore {
  rv = 100;
  compactedTo = 0;
  private readonly objects = new Map<string, Obj>();
  private readonly log: StoredEvent[] = [];
  readonly watches = new Set<WatchRecord>();
  /** Kinds whose open watches receive nothing for now (a stalled connection). */
  readonly stalled = new Set<string>();

  get(c: Collection, ns: string | undefined, name: string): Obj | undefined {
    const o = this.objects.get(objectKey(c, c.namespaced ? ns : undefined, name));
    return o && structuredClone(o);
  }

  list(c: Collection, ns: string | undefined, labelSelector?: string): Obj[] {
    const k = `${kindKey(c)}/`;
    return [...this.objects.entries()]
      .filter(([key, o]) => key.startsWith(k) && (ns === undefined || o.metadata.namespace === ns) && (!labelSelector || matchesSelectorString(labelSelector, o.metadata.labels)))
      .map(([, o]) => structuredClone(o));
  }

  /** Stores (or deletes) an object: a new resourceVersion, an event, pushed to matching watches. */
  write(type: EventType, c: Collection, obj: Obj): Obj {
    const rv = ++this.rv;
    const ns = c.namespaced ? obj.metadata.namespace : undefined;
    const key = objectKey(c, ns, obj.metadata.name);
    const prev = this.objects.get(key);
    const metadata: Obj['metadata'] = { ...obj.metadata, resourceVersion: String(rv) };
    if (type !== 'DELETED') {
      metadata.uid ??= prev?.metadata.uid ?? randomUUID();
      metadata.creationTimestamp ??= prev?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    }
    const object: Obj = { ...obj, apiVersion: groupVersion(c), kind: c.kind, metadata };
    if (!c.namespaced) delete object.metadata.namespace;
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, object);
    const ev: StoredEvent = { rv, key: kindKey(c), type, object };
    this.log.push(ev);
    for (const w of this.watches) if (this.matches(w, ev) && !this.stalled.has(c.kind)) this.send(w, ev.type, ev.object);
    return structuredClone(object);
  }

  /** Drops the event log up to now: a watch from an older version gets 410 Gone. */
  compact(): void {
    this.compactedTo = this.rv;
    this.log.length = 0;
  }

  /** Opens a watch: the logged events after `since` first, then live ones. False: `since` was compacted. */
  openWatch(w: WatchRecord, since: number): boolean {
    if (since < this.compactedTo) return false;
    for (const ev of this.log) if (ev.rv > since && this.matches(w, ev)) this.send(w, ev.type, ev.object);
    this.watches.add(w);
    w.res.on('close', () => this.watches.delete(w));
    return true;
  }

  send(w: WatchRecord, type: string, object: Obj | Record<string, unknown>): void {
    const o = 'metadata' in object && type !== 'ERROR' && type !== 'BOOKMARK' ? asServed(object as Obj, w.collection) : object;
    w.res.write(`${JSON.stringify({ type, object: o })}\n`);
  }

  private matches(w: WatchRecord, ev: StoredEvent): boolean {
    return w.key === ev.key && (w.namespace === undefined || w.namespace === ev.object.metadata.namespace) && (!w.labelSelector || matchesSelectorString(w.labelSelector, ev.object.metadata.labels));
  }
}
