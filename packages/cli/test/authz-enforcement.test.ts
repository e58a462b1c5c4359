/**
 * How a sidecar enforces AuthorizationPolicies, end to end (control plane translation, real
 * proxy, real sockets): path normalization defeats bypass attempts and the app sees the
 * normalized path; a denied request is a 403 `RBAC: access denied` whose access log line
 * names the policy (`rbac_access_denied_matched_policy[...]`, `[none]` when no ALLOW matched)
 * with no response flag; gRPC callers get grpc-status 7; Envoy's RBAC stats count; on the TCP
 * port a DENY closes the connection, an ALLOW rule using HTTP-only fields is dropped (denies)
 * and a DENY rule using them is widened (denies every connection); a dry-run policy only counts.
 */
import t from 'tap';
import { send, startApps, startSidecar, tcpExchange } from './helpers/authz-sidecar.js';

const denyAdmin = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: foo }
spec:
  action: DENY
  rules:
  - to:
    - operation: { paths: [/admin, "/admin/*"] }
`;

t.test('path normalization: bypass attempts on a DENY /admin get 403', async (t) => {
  const apps = await startApps(t);
  const sc = await startSidecar(apps, denyAdmin);
  t.teardown(() => sc.close());
  for (const path of ['/admin', '/./admin', '/a/../admin', '/a/b/../../admin', '/../admin', '/%2e/admin', '/%2E%2E/admin', '/x/%2e%2e/admin', '/%61dmin', '/admin/./x', '/admin/../admin/x', '/admin?x=1']) {
    const r = await send(apps, { path });
    t.equal(r.status, 403, `${path} denied`);
  }
  apps.seen.length = 0;
  const ok = await send(apps, { path: '/a/./b/../c' });
  t.equal(ok.status, 200);
  t.same(apps.seen, ['/a/c'], 'the app receives the normalized path');
  const escaped = await send(apps, { path: '/admin%2Fx' });
  t.equal(escaped.status, 200, '%2F is kept as sent (Envoy default): /admin%2Fx is not /admin/x');
});

t.test('a denied request: body, details in the access log, no flag, stats', async (t) => {
  const apps = await startApps(t);
  const allowIp = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-ip, namespace: foo }
spec:
  rules:
  - to:
    - operation: { paths: [/ip, /admin] }
---
`;
  const sc = await startSidecar(apps, allowIp + denyAdmin);
  t.teardown(() => sc.close());
  const denied = await send(apps, { path: '/admin' });
  t.equal(denied.status, 403);
  t.equal(denied.body, 'RBAC: access denied');
  t.equal(denied.headers['content-type'], 'text/plain');
  const none = await send(apps, { path: '/other' });
  t.equal(none.status, 403);
  const ok = await send(apps, { path: '/ip' });
  t.equal(ok.status, 200);
  const lines = await sc.accessLog(3);
  t.equal(lines[0].response_code_details, 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]', 'the DENY policy is named');
  t.equal(lines[0].response_flags, '-', 'no response flag for RBAC');
  t.equal(lines[0].response_code, 403);
  t.equal(lines[1].response_code_details, 'rbac_access_denied_matched_policy[none]', 'no ALLOW matched: [none]');
  t.equal(lines[2].response_code_details, 'via_upstream');
  const stats = await sc.stats();
  const stat = (name: string): number => Number(new RegExp(`^http\\.inbound_[^ ]+_${apps.httpPort}\\.rbac\\.${name}: (\\d+)$`, 'm').exec(stats)?.[1] ?? -1);
  // Both filters count under the same prefix, as in Envoy: DENY saw 3 (2 allowed), ALLOW saw 2 (1 allowed).
  t.equal(stat('denied'), 2, 'http.<prefix>.rbac.denied');
  t.equal(stat('allowed'), 3, 'http.<prefix>.rbac.allowed');
  t.match(stats, /^http\.inbound_.*\.rbac\.shadow_allowed: 0$/m);
  const prom = await sc.prometheus();
  t.match(prom, new RegExp(`^envoy_http_rbac_denied\\{envoy_http_conn_manager_prefix="inbound_127\\.0\\.93\\.2_${apps.httpPort}"\\} 2$`, 'm'), 'Prometheus: envoy_http_rbac_denied');
});

t.test('a gRPC caller denied gets trailers-only grpc-status 7', async (t) => {
  const apps = await startApps(t);
  const sc = await startSidecar(apps, denyAdmin.replace('[/admin, "/admin/*"]', '["/pkg.Svc/*"]'));
  t.teardown(() => sc.close());
  const r = await send(apps, { method: 'POST', path: '/pkg.Svc/Get', headers: { 'content-type': 'application/grpc', te: 'trailers' } });
  t.equal(r.status, 200, 'gRPC local replies are HTTP 200');
  t.equal(r.headers['grpc-status'], '7', 'PERMISSION_DENIED');
  t.equal(r.headers['grpc-message'], 'RBAC: access denied');
  t.equal(r.body, '');
  const [line] = await sc.accessLog(1);
  t.match(String(line.response_code_details), /^rbac_access_denied_matched_policy\[ns\[foo\]-policy\[deny-admin\]-rule\[0\]\]$/);
});

const tcpPolicy = (action: string, op: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: tcp-${action.toLowerCase()}, namespace: foo }
spec:
  action: ${action}
  rules:
  - to:
    - operation: ${op}
---
`;

t.test('TCP: the network RBAC filter', async (t) => {
  const apps = await startApps(t);
  const port = `"${apps.tcpPort}"`;
  const run = async (name: string, policies: string, wantEcho: boolean): Promise<void> => {
    const sc = await startSidecar(apps, policies);
    try {
      const r = await tcpExchange(apps, 'hello');
      if (wantEcho) t.equal(r.echoed, 'hello', `${name}: echoed`);
      else t.ok(r.closed && r.echoed === '', `${name}: connection closed, nothing relayed`);
      if (policies === '') return;
      const stats = await sc.stats();
      t.match(stats, new RegExp(`^tcp\\.rbac\\.${wantEcho ? 'allowed' : 'denied'}: [1-9]`, 'm'), `${name}: tcp.rbac.${wantEcho ? 'allowed' : 'denied'} counted`);
    } finally {
      await sc.close();
    }
  };
  await run('no policy', '', true);
  await run('ALLOW the port', tcpPolicy('ALLOW', `{ ports: [${port}] }`), true);
  await run('ALLOW another port', tcpPolicy('ALLOW', '{ ports: ["1"] }'), false);
  await run('DENY the port', tcpPolicy('DENY', `{ ports: [${port}] }`), false);
  await run('ALLOW with methods (HTTP only): the rule is dropped, nothing allowed', tcpPolicy('ALLOW', `{ methods: [GET], ports: [${port}] }`), false);
  await run('DENY with methods (HTTP only): the condition is ignored, the port denied', tcpPolicy('DENY', `{ methods: [GET], ports: [${port}] }`), false);
  await run('DENY paths only: widened to every connection', tcpPolicy('DENY', '{ paths: [/admin] }'), false);
  await run('DENY another port with methods: not this port', tcpPolicy('DENY', '{ methods: [GET], ports: ["1"] }'), true);
  // The HTTP port of the same sidecar keeps its HTTP semantics.
  const sc = await startSidecar(apps, tcpPolicy('DENY', '{ paths: [/admin] }'));
  t.teardown(() => sc.close());
  t.equal((await send(apps, { path: '/x' })).status, 200, 'HTTP: only /admin is denied');
  t.equal((await send(apps, { path: '/admin' })).status, 403);
});

t.test('istio.io/dry-run: evaluated into shadow stats, never enforced', async (t) => {
  const apps = await startApps(t);
  const sc = await startSidecar(apps, denyAdmin.replace('metadata: { name: deny-admin, namespace: foo }', 'metadata: { name: deny-admin, namespace: foo, annotations: { istio.io/dry-run: "true" } }'));
  t.teardown(() => sc.close());
  t.equal((await send(apps, { path: '/admin' })).status, 200, 'not enforced');
  t.equal((await send(apps, { path: '/x' })).status, 200);
  const stats = await sc.stats();
  t.match(stats, /^http\.inbound_[^ ]+\.rbac\.istio_dry_run_deny_shadow_denied: 1$/m, 'shadow_denied under the dry-run prefix');
  t.match(stats, /^http\.inbound_[^ ]+\.rbac\.istio_dry_run_deny_shadow_allowed: 1$/m);
  t.notMatch(stats, /rbac\.denied: [1-9]/, 'nothing denied');
});
