/**
 * VirtualService `delegate` (Istio's mergeVirtualServicesIfNeeded). A VirtualService without
 * `hosts` is a delegate; a root's http route with `delegate: {name, namespace}` is replaced by
 * the delegate's http routes, in order, each one's match merged with the root route's
 * (merge-http-match.ts; a conflicting delegate route is left out) and the root route's
 * rewrite, timeout, retries, fault, mirror, mirrorPercentage, corsPolicy and headers filling what
 * the delegate route leaves unset. One level only: a delegate's own `delegate` routes are left out.
 * The delegate must be exported to the root's namespace (`exportTo`; none = everywhere).
 * Delegates' short host names resolve in the delegate's namespace, as Istio resolves them before
 * merging. A root route whose delegate is missing, has hosts or is not exported is left out.
 */
import type { Destination, HTTPRoute, VirtualService } from '@minimesh/kube';
import { resolveHost } from '../model/hostnames.js';
import { mergeHttpMatches } from './merge-http-match.js';

export interface DelegateRef {
  readonly name: string;
  readonly namespace?: string;
}

export interface ResolvedVirtualServices {
  /** Roots (merged) and plain VirtualServices, in the input order; delegates are not listed. */
  readonly virtualServices: readonly VirtualService[];
  /** What was left out and why. */
  readonly warnings: readonly string[];
}

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';
const ref = (vs: VirtualService): string => `${vsNs(vs)}/${vs.metadata.name}`;

export const isDelegate = (vs: VirtualService): boolean => (vs.spec?.hosts ?? []).length === 0;

/** The `delegate` of an http route, when it has a name. */
export function delegateOf(h: HTTPRoute): DelegateRef | undefined {
  const d = h.delegate as { name?: unknown; namespace?: unknown } | undefined;
  if (!d || typeof d !== 'object' || typeof d.name !== 'string' || d.name === '') return undefined;
  return { name: d.name, namespace: typeof d.namespace === 'string' && d.namespace !== '' ? d.namespace : undefined };
}

/** Is the delegate visible in `namespace`? (`exportTo`: `*`, `.` = its own namespace, or names; none = everywhere.) */
export function exportedTo(vs: VirtualService, namespace: string): boolean {
  const exportTo = vs.spec?.exportTo ?? [];
  if (exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? vsNs(vs) : e) === namespace);
}

function resolveDestination(d: Destination, ns: string, suffix: string): Destination {
  return { ...d, host: resolveHost(d.host, ns, suffix) };
}

/** The delegate's route with its hosts fully qualified in its own namespace. */
function qualify(h: HTTPRoute, ns: string, suffix: string): HTTPRoute {
  return {
    ...h,
    route: h.route?.map((r) => ({ ...r, destination: resolveDestination(r.destination, ns, suffix) })),
    mirror: h.mirror ? resolveDestination(h.mirror, ns, suffix) : undefined,
    mirrors: h.mirrors?.map((m) => ({ ...m, destination: resolveDestination(m.destination, ns, suffix) })),
  };
}

const INHERITED = ['rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage', 'corsPolicy', 'headers'] as const;

/** One delegate route under its root route, or `undefined` when their matches conflict. */
export function mergeDelegateRoute(root: HTTPRoute, leaf: HTTPRoute): HTTPRoute | undefined {
  const match = mergeHttpMatches(root.match, leaf.match);
  if (root.match && root.match.length > 0 && match === undefined) return undefined;
  const out: HTTPRoute = { ...leaf, match };
  out.name = !leaf.name ? root.name : root.name ? `${root.name}-${leaf.name}` : leaf.name;
  const o = out as Record<string, unknown>;
  for (const k of INHERITED) if (o[k] === undefined && root[k] !== undefined) o[k] = root[k];
  // mirrors is the newer form of mirror: a delegate route with its own mirrors keeps them alone.
  if (leaf.mirrors !== undefined) delete o.mirror;
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as HTTPRoute;
}

function expandRoot(root: VirtualService, delegates: ReadonlyMap<string, VirtualService>, byName: ReadonlyMap<string, VirtualService>, suffix: string, warnings: string[]): VirtualService {
  const http: HTTPRoute[] = [];
  (root.spec?.http ?? []).forEach((h, i) => {
    const d = delegateOf(h);
    if (!d) {
      if (h.delegate === undefined) http.push(h);
      else warnings.push(`VirtualService ${ref(root)}: http[${i}].delegate has no name; the route is left out`);
      return;
    }
    const key = `${d.namespace ?? vsNs(root)}/${d.name}`;
    const delegate = delegates.get(key);
    if (!delegate) {
      const why = byName.has(key) ? 'has hosts, so it is not a delegate' : 'does not exist';
      warnings.push(`VirtualService ${ref(root)}: http[${i}] delegates to VirtualService ${key}, which ${why}; the route is left out`);
      return;
    }
    if (!exportedTo(delegate, vsNs(root))) {
      warnings.push(`VirtualService ${ref(root)}: http[${i}] delegates to VirtualService ${key}, which is not exported to namespace ${vsNs(root)}; the route is left out`);
      return;
    }
    (delegate.spec?.http ?? []).forEach((leaf, j) => {
      if (leaf.delegate !== undefined) {
        warnings.push(`VirtualService ${key}: http[${j}] delegates again (delegation is one level deep); the route is left out`);
        return;
      }
      const merged = mergeDelegateRoute(h, qualify(leaf, vsNs(delegate), suffix));
      if (merged) http.push(merged);
      else warnings.push(`VirtualService ${key}: http[${j}] matches outside the match of ${ref(root)} http[${i}]; the route is left out`);
    });
  });
  return { ...root, spec: { ...root.spec, http } };
}

function resolve(vss: readonly VirtualService[], suffix: string): ResolvedVirtualServices {
  const delegates = new Map(vss.filter(isDelegate).map((vs) => [ref(vs), vs] as const));
  const byName = new Map(vss.map((vs) => [ref(vs), vs] as const));
  const warnings: string[] = [];
  const out: VirtualService[] = [];
  for (const vs of vss) {
    if (isDelegate(vs)) continue;
    out.push((vs.spec?.http ?? []).some((h) => h.delegate !== undefined) ? expandRoot(vs, delegates, byName, suffix, warnings) : vs);
  }
  return { virtualServices: out, warnings };
}

const cache = new WeakMap<readonly VirtualService[], { suffix: string; result: ResolvedVirtualServices }>();

/** The VirtualServices with delegates merged into their roots (computed once per model list). */
export function resolveDelegates(vss: readonly VirtualService[], domainSuffix: string): ResolvedVirtualServices {
  const hit = cache.get(vss);
  if (hit && hit.suffix === domainSuffix) return hit.result;
  const result = resolve(vss, domainSuffix);
  cache.set(vss, { suffix: domainSuffix, result });
  return result;
}
