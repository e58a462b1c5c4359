/** Host name rules: short names resolved in a namespace, wildcard matching (Istio's host.Name). */
import { DEFAULT_DOMAIN_SUFFIX } from './mesh-model.js';

export function serviceFqdn(name: string, namespace: string, domainSuffix = DEFAULT_DOMAIN_SUFFIX): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

/**
 * Istio's ResolveShortnameToFQDN: a host without a dot is a short name in `namespace`; a host
 * with a dot (or `*`) is taken as written.
 */
export function resolveHost(host: string, namespace: string, domainSuffix = DEFAULT_DOMAIN_SUFFIX): string {
  if (host === '*' || host.includes('.')) return host.toLowerCase();
  return serviceFqdn(host.toLowerCase(), namespace, domainSuffix);
}

/** Does the (possibly wildcard) `pattern` match `host`? `*` matches all, `*.x.y` matches `a.x.y`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** Do two host patterns share any host? (Gateway server host vs VirtualService host.) */
export function hostsIntersect(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/** Gateway server hosts may carry `namespace/` (or `./`, `*\/`): that part only scopes config. */
export function stripHostNamespace(h: string): string {
  const i = h.indexOf('/');
  return i < 0 ? h : h.slice(i + 1);
}
