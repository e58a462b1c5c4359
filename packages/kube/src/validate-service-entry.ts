/**
 * Validators for ServiceEntry and WorkloadEntry (networking.istio.io, every version), with
 * Istio's rules: hosts are names (a `*.` prefix is a wildcard, `*` alone is not), DNS
 * resolution without endpoints needs hosts that can be resolved (no wildcard), STATIC
 * endpoints are IP addresses, DNS_ROUND_ROBIN takes one endpoint, `endpoints` and
 * `workloadSelector` exclude each other.
 */
import { isIP } from 'node:net';
import { at, checkArray, checkFields, checkInt, checkLabels, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';
import { GRPC_WEB_AS_HTTP, parseProtocol } from './protocol.js';
import { checkExportTo } from './validate-scope.js';

/** The fields of a WorkloadEntry, also a ServiceEntry's inline endpoint. */
const WORKLOAD_ENTRY_FIELDS = ['address', 'ports', 'labels', 'network', 'locality', 'weight', 'serviceAccount'];

/** One workload: a WorkloadEntry's spec or a ServiceEntry endpoint at `path`. */
function checkWorkload(c: IssueCollector, e: Record<string, unknown>, path: string, addressKind: 'ip' | 'any'): void {
  const hasNetwork = typeof e.network === 'string' && e.network !== '';
  if (checkString(c, e.address, at(path, 'address'), !hasNetwork) && e.address !== '') {
    const a = e.address.startsWith('unix://') ? undefined : e.address;
    if (a !== undefined && addressKind === 'ip' && isIP(a) === 0) c.error(at(path, 'address'), `must be an IP address with resolution STATIC (got ${JSON.stringify(a)})`);
  }
  if (isObject(e.ports)) for (const [k, v] of Object.entries(e.ports)) checkInt(c, v, at(at(path, 'ports'), k), 1, 65535, true);
  else if (e.ports !== undefined) c.error(at(path, 'ports'), 'must be a map of port name to number');
  if (e.labels !== undefined) checkLabels(c, e.labels, at(path, 'labels'));
  checkString(c, e.network, at(path, 'network'));
  checkString(c, e.serviceAccount, at(path, 'serviceAccount'));
  if (checkString(c, e.locality, at(path, 'locality')) && e.locality.split('/').length > 3) c.error(at(path, 'locality'), 'must be region[/zone[/subzone]]');
  checkInt(c, e.weight, at(path, 'weight'), 0, 4294967295);
  if (hasNetwork) c.warn(at(path, 'network'), 'is known but not translated: minimesh has one network');
}

function checkHost(c: IssueCollector, h: unknown, path: string): void {
  if (!checkString(c, h, path, true)) return;
  if (h === '*') c.error(path, 'a ServiceEntry host must not be "*" alone');
  else if (h.includes('/')) c.error(path, 'must be a host name (no namespace/ prefix in a ServiceEntry)');
  else if (h.slice(h.startsWith('*.') ? 2 : 0).includes('*')) c.error(path, 'a wildcard is allowed only as the first label ("*.example.com")');
}

export function validateServiceEntrySpec(c: IssueCollector, spec: unknown): void {
  if (!checkFields(c, spec, 'spec', ['hosts', 'addresses', 'ports', 'location', 'resolution', 'endpoints', 'workloadSelector', 'exportTo'], ['subjectAltNames'])) return c.error('spec', 'is required');
  checkExportTo(c, spec.exportTo, 'spec.exportTo');
  if (checkArray(c, spec.hosts, 'spec.hosts', true)) spec.hosts.forEach((h, i) => checkHost(c, h, at('spec.hosts', i)));
  if (checkArray(c, spec.addresses, 'spec.addresses')) spec.addresses.forEach((h, i) => checkString(c, h, at('spec.addresses', i), true));
  if (checkArray(c, spec.ports, 'spec.ports')) {
    spec.ports.forEach((p, i) => {
      const pp = at('spec.ports', i);
      if (!checkFields(c, p, pp, ['number', 'protocol', 'name', 'targetPort'])) return;
      checkInt(c, p.number, at(pp, 'number'), 1, 65535, true);
      checkInt(c, p.targetPort, at(pp, 'targetPort'), 1, 65535);
      if (checkString(c, p.protocol, at(pp, 'protocol'))) {
        const proto = parseProtocol(p.protocol);
        if (proto === 'Unsupported') c.error(at(pp, 'protocol'), `unknown protocol ${JSON.stringify(p.protocol)}`);
        else if (proto === 'GRPC-Web') c.warn(at(pp, 'protocol'), GRPC_WEB_AS_HTTP);
      }
    });
  }
  if (spec.location !== undefined && !['MESH_EXTERNAL', 'MESH_INTERNAL'].includes(spec.location as string)) c.error('spec.location', 'must be MESH_EXTERNAL or MESH_INTERNAL');
  const resolution = spec.resolution ?? 'NONE';
  if (!['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'].includes(resolution as string)) c.error('spec.resolution', 'must be NONE, STATIC, DNS or DNS_ROUND_ROBIN');
  if (spec.workloadSelector !== undefined) {
    if (spec.endpoints !== undefined) c.error('spec.workloadSelector', 'only one of endpoints or workloadSelector may be set');
    if (checkFields(c, spec.workloadSelector, 'spec.workloadSelector', ['labels'])) checkLabels(c, spec.workloadSelector.labels ?? {}, 'spec.workloadSelector.labels');
  }
  const endpoints = checkArray(c, spec.endpoints, 'spec.endpoints') ? spec.endpoints : [];
  if (resolution === 'NONE' && endpoints.length > 0) c.error('spec.endpoints', 'resolution NONE takes no endpoints (each connection goes to its original destination)');
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0 && Array.isArray(spec.hosts)) {
    spec.hosts.forEach((h, i) => {
      if (typeof h === 'string' && h.startsWith('*')) c.error(at('spec.hosts', i), `a wildcard host cannot be resolved: resolution ${resolution} without endpoints needs names`);
    });
  }
  if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) c.error('spec.endpoints', 'DNS_ROUND_ROBIN takes at most one endpoint');
  endpoints.forEach((e, i) => {
    const ep = at('spec.endpoints', i);
    if (!checkFields(c, e, ep, WORKLOAD_ENTRY_FIELDS)) return;
    checkWorkload(c, e, ep, resolution === 'STATIC' ? 'ip' : 'any');
  });
}

export function validateWorkloadEntrySpec(c: IssueCollector, spec: unknown): void {
  if (!checkFields(c, spec, 'spec', WORKLOAD_ENTRY_FIELDS)) return c.error('spec', 'is required');
  checkWorkload(c, spec, 'spec', 'any');
}
