/**
 * An immutable, versioned set of resources for one proxy (go-control-plane's Snapshot).
 *
 * Resources are given as Envoy objects in minimesh's plain-object form: the generated
 * `__Output` types of @minimesh/api (snake_case fields, enums as names, `Any`s packed as
 * `{type_url, value}` — build them with `packAny`), or parsed from proto3 JSON with
 * `snapshotResourcesFromJson`. Each is encoded once, here; every push reuses the bytes.
 *
 * Every type has its own version. A type whose content (names and bytes) is the same as in
 * the previous snapshot keeps the previous version, so only changed types are pushed.
 */
import { createHash } from 'node:crypto';
import { encodeResource, fromJsonData, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration, type TlsSecretResource } from '@minimesh/api';
import { CDS, EDS, LDS, PUSH_ORDER, RDS, resourceName, SDS, type XdsTypeUrl } from '../type-urls.js';

/** What a control plane produces for one proxy. */
export interface SnapshotResources {
  readonly clusters?: readonly Cluster[];
  readonly endpoints?: readonly ClusterLoadAssignment[];
  readonly listeners?: readonly Listener[];
  readonly routes?: readonly RouteConfiguration[];
  /** Envoy `Secret`s, served by name (SDS). */
  readonly secrets?: readonly TlsSecretResource[];
}

export interface SnapshotInput extends SnapshotResources {
  /**
   * The version label given to every type that changed since `previous` (e.g. a push counter
   * or timestamp). Without it, a type's version is a digest of its content.
   */
  readonly version?: string;
}

/** One resource, encoded. */
export interface SnapshotResource {
  readonly name: string;
  readonly resource: object;
  readonly bytes: Uint8Array;
}

/** The resources of one type in a snapshot. */
export interface TypeSnapshot {
  readonly version: string;
  /** sha256 over the sorted names and bytes: equal digests, equal content. */
  readonly digest: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

const FIELD: Readonly<Record<XdsTypeUrl, keyof SnapshotResources>> = { [CDS]: 'clusters', [EDS]: 'endpoints', [LDS]: 'listeners', [RDS]: 'routes', [SDS]: 'secrets' };

export class Snapshot {
  private constructor(readonly types: ReadonlyMap<XdsTypeUrl, TypeSnapshot>) {}

  /**
   * Encodes `input`. A type keeps `previous`'s version when its content did not change.
   * Throws on a resource that cannot be encoded or a duplicate name.
   */
  static create(input: SnapshotInput, previous?: Snapshot): Snapshot {
    const types = new Map<XdsTypeUrl, TypeSnapshot>();
    for (const typeUrl of PUSH_ORDER) {
      const list = (input[FIELD[typeUrl]] ?? []) as readonly object[];
      const resources = new Map<string, SnapshotResource>();
      for (const resource of list) {
        const name = resourceName(typeUrl, resource);
        if (resources.has(name)) throw new Error(`snapshot: duplicate ${FIELD[typeUrl]} name ${JSON.stringify(name)}`);
        resources.set(name, { name, resource, bytes: encodeResource(typeUrl, resource) });
      }
      const digest = digestOf(resources);
      const prev = previous?.types.get(typeUrl);
      const version = prev !== undefined && prev.digest === digest ? prev.version : (input.version ?? digest.slice(0, 16));
      types.set(typeUrl, { version, digest, resources });
    }
    return new Snapshot(types);
  }

  version(typeUrl: XdsTypeUrl): string {
    return this.types.get(typeUrl)?.version ?? '';
  }

  /** The resources of a type: `'all'` (a wildcard subscription) or those of the given names. */
  resources(typeUrl: XdsTypeUrl, names: readonly string[] | 'all'): SnapshotResource[] {
    const all = this.types.get(typeUrl)?.resources;
    if (all === undefined) return [];
    if (names === 'all' || names.includes('*')) return [...all.values()];
    const out: SnapshotResource[] = [];
    for (const n of new Set(names)) {
      const r = all.get(n);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** The resources as given, per kind (e.g. to compile or dump them). */
  toResources(): Required<SnapshotResources> {
    const get = <T>(t: XdsTypeUrl): T[] => [...(this.types.get(t)?.resources.values() ?? [])].map((r) => r.resource as T);
    return { clusters: get<Cluster>(CDS), endpoints: get<ClusterLoadAssignment>(EDS), listeners: get<Listener>(LDS), routes: get<RouteConfiguration>(RDS), secrets: get<TlsSecretResource>(SDS) };
  }
}

function digestOf(resources: ReadonlyMap<string, SnapshotResource>): string {
  const h = createHash('sha256');
  for (const name of [...resources.keys()].sort()) {
    h.update(name);
    h.update('\0');
    h.update(resources.get(name)!.bytes);
    h.update('\0');
  }
  return h.digest('hex');
}

/** Proto3 JSON (as in YAML files: `"@type"` on Anys, durations as "1s") -> SnapshotResources. */
export function snapshotResourcesFromJson(json: { clusters?: unknown[]; endpoints?: unknown[]; listeners?: unknown[]; routes?: unknown[]; secrets?: unknown[] }): SnapshotResources {
  const conv = <T>(typeUrl: XdsTypeUrl, field: string, list: unknown[] | undefined): T[] =>
    (list ?? []).map((item, i) => {
      const r = fromJsonData<T>(typeUrl, item, `${field}[${i}]`);
      if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
      return r.value;
    });
  return {
    clusters: conv<Cluster>(CDS, 'clusters', json.clusters),
    endpoints: conv<ClusterLoadAssignment>(EDS, 'endpoints', json.endpoints),
    listeners: conv<Listener>(LDS, 'listeners', json.listeners),
    routes: conv<RouteConfiguration>(RDS, 'routes', json.routes),
    secrets: conv<TlsSecretResource>(SDS, 'secrets', json.secrets),
  };
}
