/**
 * Match conditions of a delegate's route under its root's route (Istio's mergeHTTPMatchRequests):
 * every delegate match block must fit within at least one root block; each fitting pair gives one
 * block holding the root's conditions AND the delegate's (the delegate's win where both set one).
 * A delegate block that fits no root block is a conflict: the whole delegate route is left out.
 */
import type { HTTPMatchRequest, StringMatch } from '@minimesh/kube';

const isSet = (s: string | undefined): s is string => s !== undefined && s !== '';

/**
 * Can `leaf` narrow `root`? Unset on either side: yes. Regex on either side: no. An exact root
 * takes only the same exact; a prefix root takes a prefix or exact that starts with it.
 */
export function stringMatchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (root === undefined || leaf === undefined) return false;
  if (isSet(root.regex) || isSet(leaf.regex)) return true;
  if (isSet(root.exact)) return isSet(leaf.prefix) || leaf.exact !== root.exact;
  if (isSet(root.prefix)) {
    if (isSet(leaf.prefix)) return !leaf.prefix.startsWith(root.prefix);
    if (isSet(leaf.exact)) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}

/** Does the delegate block `leaf` fall outside the root block `root`? */
export function matchConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  for (const k of ['uri', 'scheme', 'method', 'authority'] as const) if (stringMatchConflict(root[k], leaf[k])) return true;
  for (const [name, m] of Object.entries(leaf.headers ?? {})) if (stringMatchConflict(root.headers?.[name], m)) return true;
  // As Istio does, a delegate's withoutHeaders entry is checked against the root's headers.
  for (const [name, m] of Object.entries(leaf.withoutHeaders ?? {})) if (stringMatchConflict(root.headers?.[name], m)) return true;
  for (const [name, m] of Object.entries(leaf.queryParams ?? {})) if (stringMatchConflict(root.queryParams?.[name], m)) return true;
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  if (root.port !== undefined && root.port > 0 && leaf.port !== undefined && leaf.port > 0 && root.port !== leaf.port) return true;
  return false;
}

const mergeMaps = (a: Record<string, StringMatch> | undefined, b: Record<string, StringMatch> | undefined): Record<string, StringMatch> | undefined =>
  a === undefined && b === undefined ? undefined : { ...(a ?? {}), ...(b ?? {}) };

/** One block: the delegate's, with the root's uri/scheme/method/authority/port where it has none, and both maps joined. */
export function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const name = !leaf.name ? root.name : root.name ? `${root.name}-${leaf.name}` : leaf.name;
  const out: HTTPMatchRequest = {
    ...leaf,
    uri: leaf.uri ?? root.uri,
    scheme: leaf.scheme ?? root.scheme,
    method: leaf.method ?? root.method,
    authority: leaf.authority ?? root.authority,
    headers: mergeMaps(root.headers, leaf.headers),
    withoutHeaders: mergeMaps(root.withoutHeaders, leaf.withoutHeaders),
    queryParams: mergeMaps(root.queryParams, leaf.queryParams),
    port: leaf.port !== undefined && leaf.port > 0 ? leaf.port : root.port,
    name,
  };
  // sourceLabels, sourceNamespace and gateways are the delegate's own (Istio ignores the root's).
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as HTTPMatchRequest;
}

/** The merged blocks, or `undefined` when the delegate's route conflicts with the root's. */
export function mergeHttpMatches(root: readonly HTTPMatchRequest[] | undefined, leaf: readonly HTTPMatchRequest[] | undefined): HTTPMatchRequest[] | undefined {
  if (!root || root.length === 0) return leaf ? [...leaf] : undefined;
  if (!leaf || leaf.length === 0) return [...root];
  const out: HTTPMatchRequest[] = [];
  for (const l of leaf) {
    const fits = root.filter((r) => !matchConflict(r, l));
    if (fits.length === 0) return undefined;
    out.push(...fits.map((r) => mergeMatch(r, l)));
  }
  return out;
}
