/**
 * `security.istio.io` AuthorizationPolicy (v1, v1beta1): the shape checked as Istio's webhook
 * does. Refused: an unknown field, a `from`/`to` entry without a source/operation, a `when`
 * key Istio does not know, ports and IPs that do not parse, `selector` with `targetRef(s)`,
 * `provider` without `action: CUSTOM`. `action: CUSTOM` (an external authorizer) is accepted
 * as valid but not enforced by minimesh: the translation names it in a warning.
 */
import net from 'node:net';
import { at, checkArray, checkFields, checkLabels, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';

export const AUTHZ_ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];
const SOURCE_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'];
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];
const PLAIN_KEYS = ['source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'source.serviceAccount', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'destination.ip', 'destination.port', 'connection.sni'];

/** Whether `key` is a `when` key Istio knows. */
export function isAuthzConditionKey(key: string): boolean {
  if (PLAIN_KEYS.includes(key)) return true;
  if (/^request\.headers\[[^\]]+\]$/.test(key)) return true;
  if (/^request\.auth\.claims(\[[^\]]+\])+$/.test(key)) return true;
  return /^experimental\.envoy\.filters\.[\w.]+\[[^\]]+\]$/.test(key);
}

/** `1.2.3.4` or `10.0.0.0/8` (IPv4 or IPv6). */
export function isIpOrCidr(v: string): boolean {
  const [ip, len, ...rest] = v.split('/');
  const family = net.isIP(ip);
  if (family === 0 || rest.length > 0) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

const isPort = (v: string): boolean => /^\d+$/.test(v) && Number(v) >= 0 && Number(v) <= 65535;

function checkValues(c: IssueCollector, v: unknown, path: string, kind: 'ip' | 'port' | 'string'): void {
  if (!checkArray(c, v, path)) return;
  v.forEach((x, i) => {
    const p = at(path, i);
    if (!checkString(c, x, p, true)) return;
    if (x === '') c.error(p, 'must not be empty');
    else if (kind === 'ip' && !isIpOrCidr(x)) c.error(p, `${JSON.stringify(x)} is not an IP address or CIDR range`);
    else if (kind === 'port' && !isPort(x)) c.error(p, `${JSON.stringify(x)} is not a port number (0-65535)`);
  });
}

function checkTargetRef(c: IssueCollector, r: unknown, path: string): void {
  if (!checkFields(c, r, path, ['group', 'kind', 'name', 'namespace'])) return;
  checkString(c, r.kind, at(path, 'kind'), true);
  checkString(c, r.name, at(path, 'name'), true);
}

function checkRule(c: IssueCollector, rule: unknown, path: string): void {
  if (!checkFields(c, rule, path, ['from', 'to', 'when'])) return;
  if (checkArray(c, rule.from, at(path, 'from'))) {
    rule.from.forEach((f, i) => {
      const fp = at(at(path, 'from'), i);
      if (!checkFields(c, f, fp, ['source'])) return;
      if (!isObject(f.source) || Object.keys(f.source).length === 0) return c.error(at(fp, 'source'), 'must not be empty');
      if (!checkFields(c, f.source, at(fp, 'source'), SOURCE_FIELDS)) return;
      for (const k of SOURCE_FIELDS) checkValues(c, f.source[k], at(at(fp, 'source'), k), /IpBlocks$/i.test(k) ? 'ip' : 'string');
    });
  }
  if (checkArray(c, rule.to, at(path, 'to'))) {
    rule.to.forEach((t, i) => {
      const tp = at(at(path, 'to'), i);
      if (!checkFields(c, t, tp, ['operation'])) return;
      if (!isObject(t.operation) || Object.keys(t.operation).length === 0) return c.error(at(tp, 'operation'), 'must not be empty');
      if (!checkFields(c, t.operation, at(tp, 'operation'), OPERATION_FIELDS)) return;
      for (const k of OPERATION_FIELDS) checkValues(c, t.operation[k], at(at(tp, 'operation'), k), /orts$/.test(k) ? 'port' : 'string');
    });
  }
  if (checkArray(c, rule.when, at(path, 'when'))) {
    rule.when.forEach((w, i) => {
      const wp = at(at(path, 'when'), i);
      if (!checkFields(c, w, wp, ['key', 'values', 'notValues'])) return;
      if (!checkString(c, w.key, at(wp, 'key'), true)) return;
      if (!isAuthzConditionKey(w.key)) return c.error(at(wp, 'key'), `unknown attribute ${JSON.stringify(w.key)}`);
      if ((!Array.isArray(w.values) || w.values.length === 0) && (!Array.isArray(w.notValues) || w.notValues.length === 0)) c.error(wp, 'values or notValues is required');
      const kind = ['source.ip', 'remote.ip', 'destination.ip'].includes(w.key) ? 'ip' : w.key === 'destination.port' ? 'port' : 'string';
      checkValues(c, w.values, at(wp, 'values'), kind);
      checkValues(c, w.notValues, at(wp, 'notValues'), kind);
    });
  }
}

export function validateAuthorizationPolicySpec(c: IssueCollector, spec: unknown): void {
  if (spec === undefined || spec === null) return;
  if (!checkFields(c, spec, 'spec', ['selector', 'targetRef', 'targetRefs', 'rules', 'action', 'provider'])) return;
  if (spec.selector !== undefined && checkFields(c, spec.selector, 'spec.selector', ['matchLabels']) && spec.selector.matchLabels !== undefined) checkLabels(c, spec.selector.matchLabels, 'spec.selector.matchLabels');
  if (spec.targetRef !== undefined) checkTargetRef(c, spec.targetRef, 'spec.targetRef');
  if (checkArray(c, spec.targetRefs, 'spec.targetRefs')) spec.targetRefs.forEach((r, i) => checkTargetRef(c, r, at('spec.targetRefs', i)));
  if (spec.selector !== undefined && (spec.targetRef !== undefined || spec.targetRefs !== undefined)) c.error('spec', 'only one of selector, targetRef or targetRefs can be set');
  if (spec.targetRef !== undefined && spec.targetRefs !== undefined) c.error('spec', 'only one of targetRef or targetRefs can be set');
  const action = spec.action ?? 'ALLOW';
  if (!AUTHZ_ACTIONS.includes(action as string)) c.error('spec.action', `must be one of ${AUTHZ_ACTIONS.join(', ')} (got ${JSON.stringify(spec.action)})`);
  if (action === 'CUSTOM' && !(isObject(spec.provider) && typeof spec.provider.name === 'string' && spec.provider.name !== '')) c.error('spec.provider', 'a CUSTOM action needs provider.name');
  if (spec.provider !== undefined && action !== 'CUSTOM') c.error('spec.provider', 'provider is only allowed with action CUSTOM');
  if (spec.provider !== undefined) checkFields(c, spec.provider, 'spec.provider', ['name']);
  if (checkArray(c, spec.rules, 'spec.rules')) spec.rules.forEach((r, i) => checkRule(c, r ?? {}, at('spec.rules', i)));
}
