/**
 * Validators for the Kubernetes kinds. Only the fields minimesh translates are checked;
 * Kubernetes objects carry many more, and those are left alone.
 */
import { at, checkArray, checkInt, checkLabels, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';
import { GRPC_WEB_AS_HTTP, selectPortProtocol } from './protocol.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateMetadata(c: IssueCollector, r: Record<string, unknown>, namespaced: boolean): void {
  const m = r.metadata;
  if (!isObject(m)) {
    c.error('metadata', 'is required');
    return;
  }
  if (checkString(c, m.name, 'metadata.name', true) && m.name.length > 253) c.error('metadata.name', 'must be at most 253 characters');
  if (namespaced && m.namespace !== undefined && checkString(c, m.namespace, 'metadata.namespace', true) && !DNS_LABEL.test(m.namespace)) {
    c.error('metadata.namespace', 'must be a DNS label');
  }
  if (m.labels !== undefined) checkLabels(c, m.labels, 'metadata.labels');
}

export function validateServiceSpec(c: IssueCollector, spec: unknown): void {
  if (!isObject(spec)) return c.error('spec', 'is required');
  if (spec.selector !== undefined) checkLabels(c, spec.selector, 'spec.selector');
  if (spec.clusterIP !== undefined) checkString(c, spec.clusterIP, 'spec.clusterIP');
  const seen = new Set<string>();
  if (!checkArray(c, spec.ports, 'spec.ports')) return;
  spec.ports.forEach((p, i) => {
    const pp = at('spec.ports', i);
    if (!isObject(p)) return c.error(pp, 'must be an object');
    checkInt(c, p.port, at(pp, 'port'), 1, 65535, true);
    if (p.name !== undefined && checkString(c, p.name, at(pp, 'name'))) {
      if (seen.has(p.name)) c.error(at(pp, 'name'), `duplicate port name ${JSON.stringify(p.name)}`);
      seen.add(p.name);
    } else if ((spec.ports as unknown[]).length > 1) c.error(at(pp, 'name'), 'is required when a Service has more than one port');
    if (typeof p.targetPort === 'number') checkInt(c, p.targetPort, at(pp, 'targetPort'), 1, 65535);
    else if (p.targetPort !== undefined) checkString(c, p.targetPort, at(pp, 'targetPort'), true);
    if (p.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(p.protocol as string)) c.error(at(pp, 'protocol'), 'must be TCP, UDP or SCTP');
    if (p.appProtocol !== undefined) checkString(c, p.appProtocol, at(pp, 'appProtocol'));
    const named = { name: typeof p.name === 'string' ? p.name : undefined, appProtocol: typeof p.appProtocol === 'string' ? p.appProtocol : undefined, protocol: typeof p.protocol === 'string' ? p.protocol : undefined };
    if (selectPortProtocol(named) === 'GRPC-Web') c.warn(at(pp, named.appProtocol ? 'appProtocol' : 'name'), GRPC_WEB_AS_HTTP);
  });
}

export function validateEndpoints(c: IssueCollector, r: Record<string, unknown>): void {
  if (r.subsets === undefined) return;
  if (!checkArray(c, r.subsets, 'subsets')) return;
  r.subsets.forEach((s, i) => {
    const sp = at('subsets', i);
    if (!isObject(s)) return c.error(sp, 'must be an object');
    for (const key of ['addresses', 'notReadyAddresses'] as const) {
      if (!checkArray(c, s[key], at(sp, key))) continue;
      s[key].forEach((a, j) => checkString(c, isObject(a) ? a.ip : undefined, at(at(at(sp, key), j), 'ip'), true));
    }
    if (checkArray(c, s.ports, at(sp, 'ports'))) s.ports.forEach((p, j) => checkInt(c, isObject(p) ? p.port : undefined, at(at(at(sp, 'ports'), j), 'port'), 1, 65535, true));
  });
}

export function validateEndpointSlice(c: IssueCollector, r: Record<string, unknown>): void {
  const labels = (r.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  if (!labels?.['kubernetes.io/service-name']) c.error('metadata.labels.kubernetes.io/service-name', 'is required (names the Service this slice belongs to)');
  if (r.addressType !== undefined && !['IPv4', 'IPv6', 'FQDN'].includes(r.addressType as string)) c.error('addressType', 'must be IPv4, IPv6 or FQDN');
  if (checkArray(c, r.endpoints, 'endpoints')) {
    r.endpoints.forEach((e, i) => {
      const ep = at('endpoints', i);
      if (!isObject(e) || !checkArray(c, e.addresses, at(ep, 'addresses'), true)) return;
      e.addresses.forEach((a, j) => checkString(c, a, at(at(ep, 'addresses'), j), true));
    });
  }
  if (checkArray(c, r.ports, 'ports')) r.ports.forEach((p, i) => checkInt(c, isObject(p) ? p.port : undefined, at(at('ports', i), 'port'), 1, 65535, true));
}

function validateContainers(c: IssueCollector, spec: unknown, path: string): void {
  if (!isObject(spec) || !checkArray(c, spec.containers, at(path, 'containers'))) return;
  spec.containers.forEach((ct, i) => {
    const cp = at(at(path, 'containers'), i);
    if (!isObject(ct)) return c.error(cp, 'must be an object');
    if (!checkArray(c, ct.ports, at(cp, 'ports'))) return;
    ct.ports.forEach((p, j) => checkInt(c, isObject(p) ? p.containerPort : undefined, at(at(at(cp, 'ports'), j), 'containerPort'), 1, 65535, true));
  });
}

export function validatePod(c: IssueCollector, r: Record<string, unknown>): void {
  validateContainers(c, r.spec, 'spec');
  const st = r.status;
  if (isObject(st) && st.podIP !== undefined) checkString(c, st.podIP, 'status.podIP');
}

export function validateDeployment(c: IssueCollector, r: Record<string, unknown>): void {
  const spec = r.spec;
  if (!isObject(spec)) return c.error('spec', 'is required');
  if (spec.replicas !== undefined) checkInt(c, spec.replicas, 'spec.replicas', 0, 10_000);
  const tpl = spec.template;
  if (!isObject(tpl)) return c.error('spec.template', 'is required');
  if (isObject(tpl.metadata) && tpl.metadata.labels !== undefined) checkLabels(c, tpl.metadata.labels, 'spec.template.metadata.labels');
  validateContainers(c, tpl.spec, 'spec.template.spec');
}
