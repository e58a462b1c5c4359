/** Envoy's RBAC: compiled from proto3 JSON, evaluated as Envoy does; path normalization; clear errors. */
import t from 'tap';
import { fromJsonData, packAny, TYPE_URL } from '@minimesh/api';
import { compileHttpRbac, compileNetworkRbac } from '../src/compile-rbac.js';
import { Errors } from '../src/errors.js';
import { evaluateRbac, type RbacFilterRt, type RbacInput } from '../src/rbac-runtime.js';
import { normalizePath } from '../src/normalize-path.js';

function http(json: object): { filter: RbacFilterRt | undefined; errors: string[] } {
  const parsed = fromJsonData<object>(TYPE_URL.HttpRbac, json);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const errors = new Errors();
  const filter = compileHttpRbac(packAny(TYPE_URL.HttpRbac, parsed.value), 'f', errors, 'inbound_x');
  return { filter, errors: errors.list.map((e) => `${e.path}: ${e.message}`) };
}

const base: RbacInput = { request: { method: 'GET', path: '/a?q=1', authority: 'Svc.Example', headerNames: ['x-token', 'x-token'], headerValues: ['a', 'b'] }, directRemoteIp: '10.0.0.5', remoteIp: '192.168.1.9', localIp: '10.0.0.1', localPort: 8080, principal: 'spiffe://cluster.local/ns/foo/sa/curl', sni: 'svc.example', metadata: undefined };

/** Allowed by an ALLOW policy made of this one permission and principal? */
function allows(permission: object, principal: object, input: Partial<RbacInput> = {}): boolean {
  const { filter, errors } = http({ rules: { action: 'ALLOW', policies: { p: { permissions: [permission], principals: [principal] } } } });
  if (errors.length > 0) throw new Error(errors.join('; '));
  return evaluateRbac(filter!.rules!, { ...base, ...input }).allowed;
}

t.test('permissions', async (t) => {
  const any = { any: true };
  t.ok(allows(any, any));
  t.ok(allows({ header: { name: ':method', exact_match: 'GET' } }, any));
  t.notOk(allows({ header: { name: ':method', exact_match: 'POST' } }, any));
  t.ok(allows({ header: { name: ':authority', string_match: { exact: 'svc.example', ignore_case: true } } }, any), 'host ignores case');
  t.ok(allows({ header: { name: 'x-token', string_match: { exact: 'a,b' } } }, any), 'repeated headers joined with a comma');
  t.ok(allows({ url_path: { path: { exact: '/a' } } }, any), 'url_path ignores the query');
  t.notOk(allows({ url_path: { path: { exact: '/a?q=1' } } }, any));
  t.ok(allows({ destination_port: 8080 }, any));
  t.notOk(allows({ destination_port: 80 }, any));
  t.ok(allows({ destination_port_range: { start: 8000, end: 8081 } }, any));
  t.notOk(allows({ destination_port_range: { start: 8000, end: 8080 } }, any), 'range end is exclusive');
  t.ok(allows({ destination_ip: { address_prefix: '10.0.0.0', prefix_len: 24 } }, any));
  t.notOk(allows({ destination_ip: { address_prefix: '10.0.1.0', prefix_len: 24 } }, any));
  t.ok(allows({ requested_server_name: { suffix: '.example' } }, any));
  t.ok(allows({ not_rule: { destination_port: 80 } }, any));
  t.ok(allows({ and_rules: { rules: [{ destination_port: 8080 }, { header: { name: ':method', exact_match: 'GET' } }] } }, any));
  t.notOk(allows({ and_rules: { rules: [{ destination_port: 8080 }, { destination_port: 1 }] } }, any));
  t.ok(allows({ or_rules: { rules: [{ destination_port: 1 }, { destination_port: 8080 }] } }, any));
  t.notOk(allows({ header: { name: ':method', present_match: true } }, any, { request: undefined }), 'no request (TCP): header rules never match');
  t.notOk(allows({ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.principal' }], value: { string_match: { safe_regex: { regex: '.+' } } } } }, any), 'no metadata: no match');
  t.ok(allows({ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.principal' }], value: { string_match: { exact: 'iss/sub' } } } }, any, { metadata: { istio_authn: { 'request.auth.principal': 'iss/sub' } } }));
});

t.test('principals', async (t) => {
  const any = { any: true };
  t.ok(allows(any, { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/foo/sa/curl' } } }));
  t.ok(allows(any, { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/foo/.*' } } } }));
  t.notOk(allows(any, { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } }, { principal: undefined }), 'no certificate: no principal');
  t.ok(allows(any, { authenticated: {} }), 'authenticated without a name: any verified peer');
  t.notOk(allows(any, { authenticated: {} }, { principal: undefined }));
  t.ok(allows(any, { direct_remote_ip: { address_prefix: '10.0.0.5', prefix_len: 32 } }));
  t.ok(allows(any, { direct_remote_ip: { address_prefix: '10.0.0.5', prefix_len: 32 } }, { directRemoteIp: '::ffff:10.0.0.5' }), 'IPv4-mapped IPv6');
  t.notOk(allows(any, { direct_remote_ip: { address_prefix: '192.168.1.0', prefix_len: 24 } }));
  t.ok(allows(any, { remote_ip: { address_prefix: '192.168.1.0', prefix_len: 24 } }));
  t.ok(allows(any, { source_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }));
  t.ok(allows(any, { remote_ip: { address_prefix: '::', prefix_len: 0 } }, { remoteIp: '2001:db8::1' }), 'IPv6');
  t.ok(allows(any, { not_id: { header: { name: 'x-absent', present_match: true } } }));
  t.ok(allows(any, { url_path: { path: { prefix: '/a' } } }));
  t.ok(allows(any, { and_ids: { ids: [{ any: true }, { direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }] } }));
  t.notOk(allows(any, { or_ids: { ids: [{ not_id: { any: true } }, { direct_remote_ip: { address_prefix: '11.0.0.0', prefix_len: 8 } }] } }));
});

t.test('actions, policy order, shadow rules, stats prefixes', async (t) => {
  const pol = (port: number) => ({ permissions: [{ destination_port: port }], principals: [{ any: true }] });
  const deny = http({ rules: { action: 'DENY', policies: { 'z-second': pol(8080), 'a-first': pol(8080), other: pol(1) } } }).filter!;
  t.same(evaluateRbac(deny.rules!, base), { allowed: false, policy: 'a-first' }, 'the first matching policy by name');
  t.same(evaluateRbac(deny.rules!, { ...base, localPort: 2 }), { allowed: true, policy: undefined });
  const allow = http({ rules: { action: 'ALLOW', policies: {} }, shadow_rules: { action: 'DENY', policies: { s: pol(8080) } }, shadow_rules_stat_prefix: 'istio_dry_run_allow_' }).filter!;
  t.same(evaluateRbac(allow.rules!, base), { allowed: false, policy: undefined }, 'ALLOW with no policies denies everything');
  t.equal(allow.statPrefix, 'http.inbound_x.rbac.');
  t.equal(allow.shadowStatPrefix, 'http.inbound_x.rbac.istio_dry_run_allow_', 'Envoy: http.<prefix>.rbac.<shadow prefix>shadow_denied');
  t.same(evaluateRbac(allow.shadowRules!, base), { allowed: false, policy: 's' });
  const log = http({ rules: { action: 'LOG', policies: { l: pol(8080) } } }).filter!;
  t.same(evaluateRbac(log.rules!, base), { allowed: true, policy: 'l' }, 'LOG never denies');
  t.equal(http({}).filter!.rules, undefined, 'no rules: nothing enforced');
  const errors = new Errors();
  const parsed = fromJsonData<object>(TYPE_URL.NetworkRbac, { stat_prefix: 'tcp.', rules: { action: 'DENY' } });
  const net = compileNetworkRbac(packAny(TYPE_URL.NetworkRbac, parsed.ok ? parsed.value : {}), 'n', errors);
  t.equal(net!.statPrefix, 'tcp.rbac.');
  t.same(errors.list, []);
});

t.test('errors name the field', async (t) => {
  const e1 = http({ rules: { policies: { p: { permissions: [{ destination_ip: { address_prefix: 'nope', prefix_len: 8 } }], principals: [{ any: true }] } } } }).errors;
  t.match(e1.join('\n'), /f\.typed_config\.rules\.policies\.p\.permissions\[0\]\.destination_ip: "nope" is not an IP address/);
  const e2 = http({ rules: { policies: { p: { permissions: [{ any: true }], principals: [] } } } }).errors;
  t.match(e2.join('\n'), /policies\.p\.principals: must hold at least one principal/);
  const e3 = http({ rules: { policies: { p: { permissions: [{ uri_template: { name: 'x' } }], principals: [{ any: true }] } } } }).errors;
  t.match(e3.join('\n'), /permissions\[0\]\.uri_template: uri_template permissions are not supported/);
  const e4 = http({ rules: { policies: { p: { permissions: [{ header: { name: 'x', safe_regex_match: { regex: '(' } } }], principals: [{ any: true }] } } } }).errors;
  t.match(e4.join('\n'), /permissions\[0\]\.header\.safe_regex_match\.regex: invalid regex/);
  const e5 = http({ rules: { policies: { p: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 40 } }] } } } }).errors;
  t.match(e5.join('\n'), /principals\[0\]\.direct_remote_ip: prefix_len 40 is out of range/);
});

t.test('normalize_path (Envoy normalize_path, RFC 3986)', async (t) => {
  const cases: [string, string][] = [
    ['/admin', '/admin'],
    ['/./admin', '/admin'],
    ['/a/../admin', '/admin'],
    ['/a/b/../../admin', '/admin'],
    ['/../../admin', '/admin'],
    ['/%2e/admin', '/admin'],
    ['/%2E%2E/admin', '/admin'],
    ['/a/%2e%2e/admin?x=/../y', '/admin?x=/../y'],
    ['/%61dmin', '/admin'],
    ['/admin%2Fx', '/admin%2Fx'],
    ['/a%2F..%2Fadmin', '/a%2F..%2Fadmin'],
    ['/admin/.', '/admin/'],
    ['/admin/..', '/'],
    ['/a\\..\\admin', '/admin'],
    ['//admin', '//admin'],
    ['/..foo/admin', '/..foo/admin'],
    ['*', '*'],
  ];
  for (const [input, want] of cases) t.equal(normalizePath(input), want, input);
});
