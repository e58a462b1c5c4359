/**
 * Validators for what scopes config to proxies: the Sidecar kind, `exportTo` (VirtualService,
 * DestinationRule, ServiceEntry, and a Service's `networking.istio.io/exportTo` annotation),
 * and the VirtualService `tcp` routes.
 */
import { at, checkArray, checkFields, checkInt, checkString, checkStringMap, isObject } from './check.js';
import type { IssueCollector } from './issues.js';
import { SERVICE_EXPORT_TO_ANNOTATION } from './types-sidecar.js';
import { checkEgressListener, checkIngressListeners } from './validate-sidecar-listeners.js';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why an `exportTo` entry is wrong, or undefined: `.`, `*`, `~` or a namespace name. */
function exportToProblem(v: string): string | undefined {
  if (v === '.' || v === '*' || v === '~' || NAMESPACE.test(v)) return undefined;
  return `${JSON.stringify(v)} is not ".", "*", "~" or a namespace name`;
}

/** `exportTo`: a list of `.`, `*`, `~` or namespace names; `~` (exported nowhere) stands alone. */
export function checkExportTo(c: IssueCollector, v: unknown, path: string): void {
  if (!checkArray(c, v, path)) return;
  v.forEach((e, i) => {
    if (!checkString(c, e, at(path, i), true)) return;
    const problem = exportToProblem(e);
    if (problem) c.error(at(path, i), problem);
  });
  if (v.includes('~') && v.length > 1) c.error(path, '"~" (exported to no namespace) cannot be combined with other entries');
}

/** A Service's `networking.istio.io/exportTo` annotation: comma-separated `exportTo` entries. */
export function checkServiceExportToAnnotation(c: IssueCollector, metadata: unknown): void {
  if (!isObject(metadata) || !isObject(metadata.annotations)) return;
  const raw = metadata.annotations[SERVICE_EXPORT_TO_ANNOTATION];
  if (typeof raw !== 'string') return;
  const path = `metadata.annotations[${SERVICE_EXPORT_TO_ANNOTATION}]`;
  const entries = raw.split(',').map((s) => s.trim());
  for (const e of entries) {
    const problem = e === '' ? 'has an empty entry' : exportToProblem(e);
    if (problem) c.error(path, problem);
  }
  if (entries.includes('~') && entries.length > 1) c.error(path, '"~" (exported to no namespace) cannot be combined with other entries');
}

function checkDestination(c: IssueCollector, v: unknown, path: string): void {
  if (v === undefined) return c.error(path, 'is required');
  if (!checkFields(c, v, path, ['host', 'subset', 'port'])) return;
  checkString(c, v.host, at(path, 'host'), true);
  checkString(c, v.subset, at(path, 'subset'));
  if (checkFields(c, v.port, at(path, 'port'), ['number'])) checkInt(c, v.port.number, at(at(path, 'port'), 'number'), 1, 65535, true);
}

/** VirtualService `tcp`: each route's `match` (port, sourceLabels, gateways, sourceNamespace) and weighted `route`. */
export function checkTcpRoutes(c: IssueCollector, v: unknown, path: string): void {
  if (!checkArray(c, v, path)) return;
  v.forEach((r, i) => {
    const rp = at(path, i);
    if (!checkFields(c, r, rp, ['match', 'route'])) return;
    if (checkArray(c, r.match, at(rp, 'match'))) {
      r.match.forEach((m, j) => {
        const mp = at(at(rp, 'match'), j);
        if (!checkFields(c, m, mp, ['port', 'sourceLabels', 'gateways', 'sourceNamespace'], ['destinationSubnets', 'sourceSubnet'])) return;
        checkInt(c, m.port, at(mp, 'port'), 1, 65535);
        checkStringMap(c, m.sourceLabels, at(mp, 'sourceLabels'));
        if (checkArray(c, m.gateways, at(mp, 'gateways'))) m.gateways.forEach((g, k) => checkString(c, g, at(at(mp, 'gateways'), k), true));
        checkString(c, m.sourceNamespace, at(mp, 'sourceNamespace'));
      });
    }
    if (!checkArray(c, r.route, at(rp, 'route'), true)) return;
    if (r.route.length === 0) c.error(at(rp, 'route'), 'must have at least one destination');
    r.route.forEach((d, j) => {
      const dp = at(at(rp, 'route'), j);
      if (!checkFields(c, d, dp, ['destination', 'weight'])) return;
      checkDestination(c, d.destination, at(dp, 'destination'));
      checkInt(c, d.weight, at(dp, 'weight'), 0, 2 ** 31 - 1);
    });
    if (r.route.length > 1 && r.route.every((d) => isObject(d) && (d.weight ?? 0) === 0)) c.error(at(rp, 'route'), 'several destinations need weights, and not all 0');
  });
}

/** An egress host: `namespace/dnsName` (namespace `*`, `.`, `~` or a name; dnsName `*`, `*.suffix` or an FQDN). */
function checkEgressHost(c: IssueCollector, h: unknown, path: string): void {
  if (!checkString(c, h, path, true)) return;
  const i = h.indexOf('/');
  if (i <= 0 || i === h.length - 1) return c.error(path, `${JSON.stringify(h)} must be namespace/dnsName (e.g. "./*", "istio-system/*", "prod/reviews.prod.svc.cluster.local")`);
  const ns = h.slice(0, i);
  const dns = h.slice(i + 1);
  if (ns !== '*' && ns !== '.' && ns !== '~' && !NAMESPACE.test(ns)) c.error(path, `${JSON.stringify(ns)} is not "*", ".", "~" or a namespace name`);
  if (dns.includes('/') || (dns.includes('*') && !(dns === '*' || (dns.startsWith('*.') && !dns.slice(1).includes('*'))))) c.error(path, `${JSON.stringify(dns)} must be "*", "*.suffix" or a host name`);
  else if (dns !== '*' && !dns.includes('.')) c.warn(path, `${JSON.stringify(dns)} is a short name, which matches no service: give the FQDN (e.g. ${dns}.${ns === '.' || ns === '*' || ns === '~' ? 'NAMESPACE' : ns}.svc.cluster.local)`);
}

export function validateSidecarSpec(c: IssueCollector, spec: unknown): void {
  if (!checkFields(c, spec, 'spec', ['workloadSelector', 'egress', 'outboundTrafficPolicy', 'ingress'], ['inboundConnectionPool'])) return;
  if (checkArray(c, spec.ingress, 'spec.ingress')) checkIngressListeners(c, spec.ingress, 'spec.ingress');
  if (checkFields(c, spec.workloadSelector, 'spec.workloadSelector', ['labels'])) checkStringMap(c, spec.workloadSelector.labels, 'spec.workloadSelector.labels');
  if (checkArray(c, spec.egress, 'spec.egress')) {
    spec.egress.forEach((e, i) => {
      const ep = at('spec.egress', i);
      if (!checkFields(c, e, ep, ['hosts', 'port', 'bind', 'captureMode'])) return;
      checkEgressListener(c, e, ep);
      if (checkArray(c, e.hosts, at(ep, 'hosts'), true)) {
        if (e.hosts.length === 0) c.error(at(ep, 'hosts'), 'must have at least one host');
        e.hosts.forEach((h, j) => checkEgressHost(c, h, at(at(ep, 'hosts'), j)));
      }
    });
  }
  const op = 'spec.outboundTrafficPolicy';
  if (checkFields(c, spec.outboundTrafficPolicy, op, ['mode'], ['egressProxy'])) {
    const m = spec.outboundTrafficPolicy.mode;
    if (m !== undefined && m !== 'ALLOW_ANY' && m !== 'REGISTRY_ONLY') c.error(at(op, 'mode'), `must be ALLOW_ANY or REGISTRY_ONLY (got ${JSON.stringify(m)})`);
  }
}
