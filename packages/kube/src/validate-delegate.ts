/**
 * VirtualService delegation rules (as Istio's validation): a VirtualService without hosts is a
 * delegate and may set no gateways, tls or tcp routes, nor delegate again; an http route's
 * `delegate` needs a name. Whether the named delegate exists is known only with every resource
 * at hand: the control plane warns when it does not (a route left out).
 */
import { at, checkFields, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';

const nonEmpty = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

export function validateDelegation(c: IssueCollector, spec: Record<string, unknown>): void {
  const isDelegate = !nonEmpty(spec.hosts);
  if (isDelegate) {
    for (const k of ['gateways', 'tls', 'tcp']) if (nonEmpty(spec[k])) c.error(at('spec', k), 'must not be set in a delegate VirtualService (one without hosts)');
  }
  if (!Array.isArray(spec.http)) return;
  spec.http.forEach((h, i) => {
    if (!isObject(h) || h.delegate === undefined) return;
    const p = at(at('spec.http', i), 'delegate');
    if (isDelegate) c.error(p, 'a delegate VirtualService (one without hosts) cannot delegate again: delegation is one level deep');
    if (checkFields(c, h.delegate, p, ['name', 'namespace'])) {
      checkString(c, h.delegate.name, at(p, 'name'), true);
      checkString(c, h.delegate.namespace, at(p, 'namespace'));
    }
  });
}
