/**
 * Reads an API path into what it names: a discovery document, a collection (all namespaces
 * or one), an object, or an object's status.
 */
import { apiRoot, type Collection } from './collections.js';

export type ApiTarget =
  | { readonly what: 'discovery'; readonly collections: Collection[] }
  | { readonly what: 'collection'; readonly collection: Collection; readonly namespace: string | undefined }
  | { readonly what: 'object'; readonly collection: Collection; readonly namespace: string | undefined; readonly name: string; readonly status: boolean };

export function resolvePath(pathname: string, collections: readonly Collection[]): ApiTarget | undefined {
  const path = pathname.replace(/\/+$/, '');
  const gv = collections.filter((c) => apiRoot(c) === path);
  if (gv.length > 0) return { what: 'discovery', collections: gv };
  for (const c of collections) {
    const root = apiRoot(c);
    if (!path.startsWith(`${root}/`)) continue;
    const seg = path.slice(root.length + 1).split('/').map(decodeURIComponent);
    let namespace: string | undefined;
    let rest = seg;
    if (c.namespaced && seg[0] === 'namespaces' && seg.length >= 3 && seg[2] === c.plural) {
      namespace = seg[1];
      rest = seg.slice(2);
    }
    if (rest[0] !== c.plural) continue;
    if (rest.length === 1) return { what: 'collection', collection: c, namespace };
    if (rest.length === 2) return { what: 'object', collection: c, namespace, name: rest[1], status: false };
    if (rest.length === 3 && rest[2] === 'status') return { what: 'object', collection: c, namespace, name: rest[1], status: true };
  }
  return undefined;
}

/** GET /api/v1 or /apis/GROUP/VERSION: the APIResourceList client libraries read plurals from. */
export function resourceList(cs: readonly Collection[]): Record<string, unknown> {
  const c0 = cs[0];
  const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: c0.group ? `${c0.group}/${c0.version}` : c0.version,
    resources: cs.flatMap((c) => [
      { name: c.plural, singularName: c.kind.toLowerCase(), namespaced: c.namespaced, kind: c.kind, verbs, ...(c.shortNames ? { shortNames: c.shortNames } : {}) },
      ...(c.status ? [{ name: `${c.plural}/status`, singularName: '', namespaced: c.namespaced, kind: c.kind, verbs: ['get', 'patch', 'update'] }] : []),
    ]),
  };
}

/** GET /apis: every group with its versions. */
export function groupList(cs: readonly Collection[]): Record<string, unknown> {
  const groups = new Map<string, string[]>();
  for (const c of cs) {
    if (!c.group) continue;
    const vs = groups.get(c.group) ?? [];
    if (!vs.includes(c.version)) vs.push(c.version);
    groups.set(c.group, vs);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, vs]) => ({
      name,
      versions: vs.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${vs[0]}`, version: vs[0] },
    })),
  };
}
