/**
 * Validators for Istio's networking kinds (the schema is the same in v1alpha3, v1beta1, v1).
 * Unknown fields are errors (Istio's CRD schema rejects them too); fields Istio knows but
 * minimesh does not translate yet are warnings naming what is ignored.
 */
import {
  at,
  checkArray,
  checkDuration,
  checkFields,
  checkInt,
  checkLabels,

  checkPercentage,
  checkString,
  checkStringMap,
  isObject,
} from './check.js';
import type { IssueCollector } from './issues.js';
import { ENVOY_RETRY_ON } from '@minimesh/mesh';
import { validateServerTls, validateTlsRoutes } from './validate-tls.js';
import { validateDelegation } from './validate-delegate.js';
import { checkClientTls } from './validate-client-tls.js';
import { checkCorsPolicy } from './validate-cors.js';
import { checkHeaderValues } from './validate-header-value.js';
import { checkLocalityLbSetting, checkWarmup } from './validate-locality.js';
import { GRPC_WEB_AS_HTTP, parseProtocol } from './protocol.js';
import { checkExportTo, checkTcpRoutes } from './validate-scope.js';

/** Istio's `retryOn` values: Envoy's HTTP and gRPC conditions, or a status code. */
const RETRY_ON: ReadonlySet<string> = new Set(ENVOY_RETRY_ON);

function checkStringMatch(c: IssueCollector, v: unknown, path: string): void {
  if (!checkFields(c, v, path, ['exact', 'prefix', 'regex'])) return;
  const set = ['exact', 'prefix', 'regex'].filter((k) => v[k] !== undefined);
  if (set.length > 1) c.error(path, `only one of exact, prefix, regex may be set (got ${set.join(', ')})`);
  for (const k of set) checkString(c, v[k], at(path, k));
  if (typeof v.regex === 'string') {
    try {
      new RegExp(v.regex);
    } catch (e) {
      c.error(at(path, 'regex'), `invalid regex: ${(e as Error).message}`);
    }
  }
}

function checkMatchMap(c: IssueCollector, v: unknown, path: string): void {
  if (v === undefined) return;
  if (!isObject(v)) return c.error(path, 'must be a map');
  for (const [k, m] of Object.entries(v)) {
    if (k !== k.toLowerCase() && path.endsWith('eaders')) c.error(at(path, k), 'header names must be lower case');
    // `{}` matches presence in Istio.
    checkStringMatch(c, m, at(path, k));
  }
}

function checkHeaderOps(c: IssueCollector, v: unknown, path: string): void {
  if (!checkFields(c, v, path, ['set', 'add', 'remove'])) return;
  if (checkStringMap(c, v.set, at(path, 'set'))) checkHeaderValues(c, v.set, at(path, 'set'));
  if (checkStringMap(c, v.add, at(path, 'add'))) checkHeaderValues(c, v.add, at(path, 'add'));
  if (checkArray(c, v.remove, at(path, 'remove'))) v.remove.forEach((h, i) => checkString(c, h, at(at(path, 'remove'), i), true));
}

function checkHeaders(c: IssueCollector, v: unknown, path: string): void {
  if (!checkFields(c, v, path, ['request', 'response'])) return;
  checkHeaderOps(c, v.request, at(path, 'request'));
  checkHeaderOps(c, v.response, at(path, 'response'));
}

function checkDestination(c: IssueCollector, v: unknown, path: string): void {
  if (v === undefined) return c.error(path, 'is required');
  if (!checkFields(c, v, path, ['host', 'subset', 'port'])) return;
  checkString(c, v.host, at(path, 'host'), true);
  checkString(c, v.subset, at(path, 'subset'));
  if (checkFields(c, v.port, at(path, 'port'), ['number'])) checkInt(c, v.port.number, at(at(path, 'port'), 'number'), 1, 65535, true);
}

function checkMatch(c: IssueCollector, m: unknown, path: string): void {
  if (
    !checkFields(
      c,
      m,
      path,
      ['name', 'uri', 'scheme', 'method', 'authority', 'headers', 'queryParams', 'ignoreUriCase', 'withoutHeaders', 'sourceLabels', 'gateways', 'sourceNamespace', 'port'],
      ['statPrefix'],
    )
  )
    return;
  for (const k of ['uri', 'scheme', 'method', 'authority'] as const) if (m[k] !== undefined) checkStringMatch(c, m[k], at(path, k));
  checkMatchMap(c, m.headers, at(path, 'headers'));
  checkMatchMap(c, m.withoutHeaders, at(path, 'withoutHeaders'));
  checkMatchMap(c, m.queryParams, at(path, 'queryParams'));
  if (m.ignoreUriCase !== undefined && typeof m.ignoreUriCase !== 'boolean') c.error(at(path, 'ignoreUriCase'), 'must be true or false');
  if (m.sourceLabels !== undefined) checkLabels(c, m.sourceLabels, at(path, 'sourceLabels'));
  if (checkArray(c, m.gateways, at(path, 'gateways'))) m.gateways.forEach((g, i) => checkString(c, g, at(at(path, 'gateways'), i), true));
  checkString(c, m.sourceNamespace, at(path, 'sourceNamespace'));
  checkInt(c, m.port, at(path, 'port'), 1, 65535);
}

function checkRetries(c: IssueCollector, r: unknown, path: string): void {
  if (!checkFields(c, r, path, ['attempts', 'perTryTimeout', 'retryOn'], ['retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff'])) return;
  checkInt(c, r.attempts, at(path, 'attempts'), 0, 2 ** 31 - 1);
  checkDuration(c, r.perTryTimeout, at(path, 'perTryTimeout'), 1);
  if (checkString(c, r.retryOn, at(path, 'retryOn'))) {
    for (const raw of r.retryOn.split(',')) {
      const v = raw.trim();
      if (v && !RETRY_ON.has(v) && !/^\d{3}$/.test(v)) c.error(at(path, 'retryOn'), `unknown retry condition ${JSON.stringify(v)}`);
    }
  }
}

function checkFault(c: IssueCollector, f: unknown, path: string): void {
  if (!checkFields(c, f, path, ['delay', 'abort'])) return;
  const dp = at(path, 'delay');
  if (checkFields(c, f.delay, dp, ['fixedDelay', 'percentage', 'percent'], ['exponentialDelay'])) {
    if (f.delay.fixedDelay === undefined) c.error(at(dp, 'fixedDelay'), 'is required');
    checkDuration(c, f.delay.fixedDelay, at(dp, 'fixedDelay'), 1);
    checkPercentage(c, f.delay.percentage, at(dp, 'percentage'));
    checkInt(c, f.delay.percent, at(dp, 'percent'), 0, 100);
  }
  const ap = at(path, 'abort');
  if (checkFields(c, f.abort, ap, ['httpStatus', 'grpcStatus', 'percentage'], ['http2Error'])) {
    if (f.abort.httpStatus === undefined && f.abort.grpcStatus === undefined) c.error(ap, 'one of httpStatus, grpcStatus is required');
    checkInt(c, f.abort.httpStatus, at(ap, 'httpStatus'), 200, 599);
    checkString(c, f.abort.grpcStatus, at(ap, 'grpcStatus'));
    checkPercentage(c, f.abort.percentage, at(ap, 'percentage'));
  }
}

function checkHttpRoute(c: IssueCollector, h: unknown, path: string): void {
  if (
    !checkFields(
      c,
      h,
      path,
      ['name', 'match', 'route', 'redirect', 'directResponse', 'rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage', 'mirrors', 'headers', 'delegate', 'corsPolicy'],
      ['mirrorPercent', 'mirror_percent'],
    )
  )
    return;
  const actions = ['route', 'redirect', 'directResponse', 'delegate'].filter((k) => h[k] !== undefined);
  if (actions.length === 0) c.error(path, 'one of route, redirect, directResponse, delegate is required');
  if (actions.length > 1) c.error(path, `only one of route, redirect, directResponse, delegate may be set (got ${actions.join(', ')})`);
  if (h.redirect !== undefined && h.rewrite !== undefined) c.error(path, 'redirect and rewrite cannot both be set');
  if (checkArray(c, h.match, at(path, 'match'))) h.match.forEach((m, i) => checkMatch(c, m, at(at(path, 'match'), i)));
  if (checkArray(c, h.route, at(path, 'route'))) {
    const rp = at(path, 'route');
    if (h.route.length === 0) c.error(rp, 'must have at least one destination');
    let total = 0;
    h.route.forEach((r, i) => {
      const p = at(rp, i);
      if (!checkFields(c, r, p, ['destination', 'weight', 'headers'])) return;
      checkDestination(c, r.destination, at(p, 'destination'));
      if (checkInt(c, r.weight, at(p, 'weight'), 0, 100)) total += r.weight;
      checkHeaders(c, r.headers, at(p, 'headers'));
    });
    if (h.route.length > 1 && total === 0) c.error(rp, 'the destinations\' weights must not all be 0');
  }
  const rd = at(path, 'redirect');
  if (checkFields(c, h.redirect, rd, ['uri', 'authority', 'port', 'derivePort', 'scheme', 'redirectCode'])) {
    checkString(c, h.redirect.uri, at(rd, 'uri'));
    checkString(c, h.redirect.authority, at(rd, 'authority'));
    checkInt(c, h.redirect.port, at(rd, 'port'), 1, 65535);
    checkString(c, h.redirect.scheme, at(rd, 'scheme'));
    if (h.redirect.derivePort !== undefined && !['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'].includes(h.redirect.derivePort as string)) {
      c.error(at(rd, 'derivePort'), 'must be FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT');
    }
    if (h.redirect.derivePort !== undefined) c.warn(at(rd, 'derivePort'), 'is not translated by minimesh yet and is ignored');
    if (h.redirect.redirectCode !== undefined && ![301, 302, 303, 307, 308].includes(h.redirect.redirectCode as number)) {
      c.error(at(rd, 'redirectCode'), 'must be one of 301, 302, 303, 307, 308');
    }
  }
  const dr = at(path, 'directResponse');
  if (checkFields(c, h.directResponse, dr, ['status', 'body'])) {
    checkInt(c, h.directResponse.status, at(dr, 'status'), 200, 599, true);
    if (checkFields(c, h.directResponse.body, at(dr, 'body'), ['string'], ['bytes'])) checkString(c, h.directResponse.body.string, at(at(dr, 'body'), 'string'));
  }
  const rw = at(path, 'rewrite');
  if (checkFields(c, h.rewrite, rw, ['uri', 'authority', 'uriRegexRewrite'])) {
    checkString(c, h.rewrite.uri, at(rw, 'uri'));
    checkString(c, h.rewrite.authority, at(rw, 'authority'));
    if (h.rewrite.uri !== undefined && h.rewrite.uriRegexRewrite !== undefined) c.error(rw, 'uri and uriRegexRewrite cannot both be set');
    const rr = at(rw, 'uriRegexRewrite');
    if (checkFields(c, h.rewrite.uriRegexRewrite, rr, ['match', 'rewrite'])) {
      checkString(c, h.rewrite.uriRegexRewrite.match, at(rr, 'match'), true);
      checkString(c, h.rewrite.uriRegexRewrite.rewrite, at(rr, 'rewrite'));
    }
  }
  checkDuration(c, h.timeout, at(path, 'timeout'));
  checkRetries(c, h.retries, at(path, 'retries'));
  checkFault(c, h.fault, at(path, 'fault'));
  checkCorsPolicy(c, h.corsPolicy, at(path, 'corsPolicy'), checkStringMatch);
  if (h.mirror !== undefined) checkDestination(c, h.mirror, at(path, 'mirror'));
  checkPercentage(c, h.mirrorPercentage, at(path, 'mirrorPercentage'));
  if (h.mirror !== undefined && h.mirrors !== undefined) c.error(path, 'mirror and mirrors cannot both be set');
  if (checkArray(c, h.mirrors, at(path, 'mirrors'))) {
    h.mirrors.forEach((m, i) => {
      const mp = at(at(path, 'mirrors'), i);
      if (!checkFields(c, m, mp, ['destination', 'percentage'])) return;
      checkDestination(c, m.destination, at(mp, 'destination'));
      checkPercentage(c, m.percentage, at(mp, 'percentage'));
    });
  }
  checkHeaders(c, h.headers, at(path, 'headers'));
}

export function validateVirtualServiceSpec(c: IssueCollector, spec: unknown): void {
  if (!checkFields(c, spec, 'spec', ['hosts', 'gateways', 'http', 'tls', 'tcp', 'exportTo'])) return c.error('spec', 'is required');
  checkTcpRoutes(c, spec.tcp, 'spec.tcp');
  checkExportTo(c, spec.exportTo, 'spec.exportTo');
  // No hosts: a delegate VirtualService (validate-delegate.ts).
  if (checkArray(c, spec.hosts, 'spec.hosts')) spec.hosts.forEach((h, i) => checkString(c, h, at('spec.hosts', i), true));
  validateDelegation(c, spec);
  if (checkArray(c, spec.gateways, 'spec.gateways')) spec.gateways.forEach((g, i) => checkString(c, g, at('spec.gateways', i), true));
  if (checkArray(c, spec.http, 'spec.http')) spec.http.forEach((h, i) => checkHttpRoute(c, h, at('spec.http', i)));
  validateTlsRoutes(c, spec.tls, 'spec.tls');
  if (spec.http === undefined && spec.tls === undefined && spec.tcp === undefined) c.error('spec', 'one of http, tls, tcp is required');
}

const H2_UPGRADE_POLICIES = ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'];
const LB_SIMPLE = ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'];

function checkConsistentHash(c: IssueCollector, ch: unknown, path: string): void {
  if (!checkFields(c, ch, path, ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName', 'ringHash', 'maglev', 'minimumRingSize'])) return;
  const keys = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'].filter((k) => ch[k] !== undefined);
  if (keys.length !== 1) c.error(path, `exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName is required${keys.length > 1 ? ` (got ${keys.join(', ')})` : ''}`);
  checkString(c, ch.httpHeaderName, at(path, 'httpHeaderName'));
  checkString(c, ch.httpQueryParameterName, at(path, 'httpQueryParameterName'));
  if (ch.useSourceIp !== undefined && ch.useSourceIp !== true) c.error(at(path, 'useSourceIp'), 'must be true when set');
  const cp = at(path, 'httpCookie');
  if (checkFields(c, ch.httpCookie, cp, ['name', 'path', 'ttl'], ['attributes'])) {
    checkString(c, ch.httpCookie.name, at(cp, 'name'), true);
    checkString(c, ch.httpCookie.path, at(cp, 'path'));
    checkDuration(c, ch.httpCookie.ttl, at(cp, 'ttl'));
  }
  if (ch.ringHash !== undefined && ch.maglev !== undefined) c.error(path, 'ringHash and maglev cannot both be set');
  if (checkFields(c, ch.ringHash, at(path, 'ringHash'), ['minimumRingSize'])) checkInt(c, ch.ringHash.minimumRingSize, at(at(path, 'ringHash'), 'minimumRingSize'), 0, 8388608);
  if (checkFields(c, ch.maglev, at(path, 'maglev'), ['tableSize'])) checkInt(c, ch.maglev.tableSize, at(at(path, 'maglev'), 'tableSize'), 0, 5000011);
  checkInt(c, ch.minimumRingSize, at(path, 'minimumRingSize'), 0, 8388608);
}

function checkTrafficPolicy(c: IssueCollector, tp: unknown, path: string, portLevel: boolean): void {
  const known = ['loadBalancer', 'connectionPool', 'outlierDetection', ...(portLevel ? ['port'] : ['portLevelSettings'])];
  if (!checkFields(c, tp, path, [...known, 'tls'], ['tunnel', 'proxyProtocol'])) return;
  checkClientTls(c, tp.tls, at(path, 'tls'));
  if (portLevel && checkFields(c, tp.port, at(path, 'port'), ['number'])) checkInt(c, tp.port.number, at(at(path, 'port'), 'number'), 1, 65535, true);
  else if (portLevel) c.error(at(path, 'port'), 'is required');
  const lb = at(path, 'loadBalancer');
  if (checkFields(c, tp.loadBalancer, lb, ['simple', 'consistentHash', 'localityLbSetting', 'warmupDurationSecs', 'warmup'])) {
    checkLocalityLbSetting(c, tp.loadBalancer.localityLbSetting, at(lb, 'localityLbSetting'));
    checkWarmup(c, tp.loadBalancer, lb);
    if (tp.loadBalancer.simple !== undefined && !LB_SIMPLE.includes(tp.loadBalancer.simple as string)) c.error(at(lb, 'simple'), `must be one of ${LB_SIMPLE.join(', ')}`);
    if (tp.loadBalancer.simple !== undefined && tp.loadBalancer.consistentHash !== undefined) c.error(lb, 'simple and consistentHash cannot both be set');
    checkConsistentHash(c, tp.loadBalancer.consistentHash, at(lb, 'consistentHash'));
  }
  const cp = at(path, 'connectionPool');
  if (checkFields(c, tp.connectionPool, cp, ['tcp', 'http'])) {
    const t = at(cp, 'tcp');
    if (checkFields(c, tp.connectionPool.tcp, t, ['maxConnections', 'connectTimeout'], ['tcpKeepalive', 'maxConnectionDuration', 'idleTimeout'])) {
      checkInt(c, tp.connectionPool.tcp.maxConnections, at(t, 'maxConnections'), 0, 2 ** 31 - 1);
      checkDuration(c, tp.connectionPool.tcp.connectTimeout, at(t, 'connectTimeout'), 1);
    }
    const h = at(cp, 'http');
    if (
      checkFields(
        c,
        tp.connectionPool.http,
        h,
        ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'idleTimeout', 'h2UpgradePolicy', 'useClientProtocol', 'maxConcurrentStreams'],
      )
    ) {
      const hp = tp.connectionPool.http;
      for (const k of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'maxConcurrentStreams']) checkInt(c, hp[k], at(h, k), 0, 2 ** 31 - 1);
      checkDuration(c, hp.idleTimeout, at(h, 'idleTimeout'), 1);
      if (hp.h2UpgradePolicy !== undefined && !H2_UPGRADE_POLICIES.includes(hp.h2UpgradePolicy as string)) c.error(at(h, 'h2UpgradePolicy'), `must be one of ${H2_UPGRADE_POLICIES.join(', ')}`);
      if (hp.useClientProtocol !== undefined && typeof hp.useClientProtocol !== 'boolean') c.error(at(h, 'useClientProtocol'), 'must be true or false');
    }
  }
  const od = at(path, 'outlierDetection');
  if (
    checkFields(
      c,
      tp.outlierDetection,
      od,
      ['consecutiveErrors', 'consecutive5xxErrors', 'consecutiveGatewayErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent'],
      ['splitExternalLocalOriginErrors', 'consecutiveLocalOriginFailures'],
    )
  ) {
    for (const k of ['consecutiveErrors', 'consecutive5xxErrors', 'consecutiveGatewayErrors']) checkInt(c, tp.outlierDetection[k], at(od, k), 0, 2 ** 31 - 1);
    checkDuration(c, tp.outlierDetection.interval, at(od, 'interval'), 1);
    checkDuration(c, tp.outlierDetection.baseEjectionTime, at(od, 'baseEjectionTime'), 1);
    checkInt(c, tp.outlierDetection.maxEjectionPercent, at(od, 'maxEjectionPercent'), 0, 100);
    checkInt(c, tp.outlierDetection.minHealthPercent, at(od, 'minHealthPercent'), 0, 100);
  }
  if (!portLevel && checkArray(c, tp.portLevelSettings, at(path, 'portLevelSettings'))) {
    tp.portLevelSettings.forEach((p, i) => checkTrafficPolicy(c, p, at(at(path, 'portLevelSettings'), i), true));
  }
}

export function validateDestinationRuleSpec(c: IssueCollector, spec: unknown): void {
  if (!checkFields(c, spec, 'spec', ['host', 'trafficPolicy', 'subsets', 'exportTo'], ['workloadSelector'])) return c.error('spec', 'is required');
  checkExportTo(c, spec.exportTo, 'spec.exportTo');
  checkString(c, spec.host, 'spec.host', true);
  checkTrafficPolicy(c, spec.trafficPolicy, 'spec.trafficPolicy', false);
  if (!checkArray(c, spec.subsets, 'spec.subsets')) return;
  const names = new Set<string>();
  spec.subsets.forEach((s, i) => {
    const sp = at('spec.subsets', i);
    if (!checkFields(c, s, sp, ['name', 'labels', 'trafficPolicy'])) return;
    if (checkString(c, s.name, at(sp, 'name'), true)) {
      if (names.has(s.name)) c.error(at(sp, 'name'), `duplicate subset name ${JSON.stringify(s.name)}`);
      if (s.name.includes('|')) c.error(at(sp, 'name'), 'must not contain "|"');
      names.add(s.name);
    }
    if (s.labels !== undefined) checkLabels(c, s.labels, at(sp, 'labels'));
    checkTrafficPolicy(c, s.trafficPolicy, at(sp, 'trafficPolicy'), false);
  });
}

export function validateGatewaySpec(c: IssueCollector, spec: unknown): void {
  if (!checkFields(c, spec, 'spec', ['selector', 'servers'])) return c.error('spec', 'is required');
  if (spec.selector !== undefined) checkLabels(c, spec.selector, 'spec.selector');
  if (!checkArray(c, spec.servers, 'spec.servers', true)) return;
  spec.servers.forEach((s, i) => {
    const sp = at('spec.servers', i);
    if (!checkFields(c, s, sp, ['port', 'hosts', 'name', 'tls'], ['bind', 'defaultEndpoint'])) return;
    const pp = at(sp, 'port');
    if (s.port === undefined) c.error(pp, 'is required');
    else if (checkFields(c, s.port, pp, ['number', 'name', 'protocol', 'targetPort'])) {
      checkInt(c, s.port.number, at(pp, 'number'), 1, 65535, true);
      checkString(c, s.port.name, at(pp, 'name'));
      if (checkString(c, s.port.protocol, at(pp, 'protocol'), true)) {
        const p = parseProtocol(s.port.protocol);
        if (p === 'Unsupported') c.error(at(pp, 'protocol'), `unknown protocol ${JSON.stringify(s.port.protocol)}`);
        else if (p === 'GRPC-Web') c.warn(at(pp, 'protocol'), GRPC_WEB_AS_HTTP);
        else if (p === 'UDP') c.warn(at(pp, 'protocol'), `${s.port.protocol} servers are not translated by minimesh yet (HTTP, HTTPS, TLS and TCP only); this server is ignored`);
      }
    }
    if (checkArray(c, s.hosts, at(sp, 'hosts'), true)) {
      if (s.hosts.length === 0) c.error(at(sp, 'hosts'), 'must have at least one host');
      s.hosts.forEach((h, j) => checkString(c, h, at(at(sp, 'hosts'), j), true));
    }
    const rawProto = isObject(s.port) ? s.port.protocol : undefined;
    const proto = typeof rawProto === 'string' ? rawProto.toUpperCase() : undefined;
    if (s.tls !== undefined) validateServerTls(c, s.tls, at(sp, 'tls'), proto);
    else if (proto === 'HTTPS') c.error(at(sp, 'tls'), 'is required on an HTTPS server');
  });
}

export { validateServiceEntrySpec } from './validate-service-entry.js';
