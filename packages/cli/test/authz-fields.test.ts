/**
 * Every AuthorizationPolicy field, end to end: the control plane translates the policy for the
 * httpbin sidecar, the real proxy enforces it, real requests go through from chosen loopback
 * sources. Each case lists requests with the status they must get (200 from the app, 403
 * from RBAC). Fields that need a client certificate (principals, namespaces, service accounts)
 * are checked here without one (they never match a plaintext client), and with one in
 * authz-translate.test.ts.
 */
import t from 'tap';
import { POD_IP, send, startApps, startSidecar, type Apps, type Req } from './helpers/authz-sidecar.js';

interface Case {
  name: string;
  policies: (a: Apps) => string;
  requests: (Req & { want: number })[];
}

const policy = (name: string, spec: string, ns = 'foo', api = 'security.istio.io/v1'): string => `apiVersion: ${api}
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
---
`;
const allowTo = (op: string): string => policy('allow', `action: ALLOW\nrules:\n- to:\n  - operation: ${op}`);
const denyTo = (op: string): string => policy('deny', `action: DENY\nrules:\n- to:\n  - operation: ${op}`);
const allowFrom = (src: string): string => policy('allow', `action: ALLOW\nrules:\n- from:\n  - source: ${src}`);
const allowWhen = (key: string, values: string, not = false): string => policy('allow', `rules:\n- when:\n  - key: "${key}"\n    ${not ? 'notValues' : 'values'}: ${values}`);

const cases: Case[] = [
  { name: 'no policy: allowed', policies: () => '', requests: [{ want: 200 }] },
  { name: 'allow-nothing (spec {}): denied', policies: () => policy('allow-nothing', '{}'), requests: [{ want: 403 }, { path: '/x', want: 403 }] },
  { name: 'ALLOW with an empty rule: allowed', policies: () => policy('allow-all', 'rules: [{}]'), requests: [{ want: 200 }] },
  { name: 'DENY with an empty rule: denied', policies: () => policy('deny-all', 'action: DENY\nrules: [{}]'), requests: [{ want: 403 }] },
  { name: 'DENY without rules matches nothing', policies: () => policy('deny-none', 'action: DENY'), requests: [{ want: 200 }] },
  { name: 'v1beta1 is read too', policies: () => policy('allow-nothing', '{}', 'foo', 'security.istio.io/v1beta1'), requests: [{ want: 403 }] },
  {
    name: 'paths: exact, prefix, suffix, query ignored',
    policies: () => allowTo('{ paths: [/exact, "/prefix/*", "*/suffix"] }'),
    requests: [
      { path: '/exact', want: 200 },
      { path: '/exact?x=1', want: 200 },
      { path: '/exactly', want: 403 },
      { path: '/prefix/a/b', want: 200 },
      { path: '/prefix', want: 403 },
      { path: '/a/suffix', want: 200 },
      { path: '/other', want: 403 },
    ],
  },
  { name: 'paths "*": any path', policies: () => allowTo('{ paths: ["*"] }'), requests: [{ path: '/any', want: 200 }] },
  { name: 'paths templates {*} and {**}', policies: () => allowTo('{ paths: ["/api/{*}/info", "/files/{**}"] }'), requests: [{ path: '/api/v1/info', want: 200 }, { path: '/api/v1/v2/info', want: 403 }, { path: '/files/a/b/c', want: 200 }] },
  { name: 'notPaths (DENY): all but /ip and /headers', policies: () => denyTo('{ notPaths: [/ip, /headers] }'), requests: [{ path: '/ip', want: 200 }, { path: '/headers', want: 200 }, { path: '/get', want: 403 }] },
  { name: 'methods', policies: () => allowTo('{ methods: [GET, "HE*"] }'), requests: [{ want: 200 }, { method: 'HEAD', want: 200 }, { method: 'POST', want: 403 }, { method: 'DELETE', want: 403 }] },
  { name: 'notMethods', policies: () => allowTo('{ notMethods: [DELETE] }'), requests: [{ want: 200 }, { method: 'DELETE', want: 403 }] },
  {
    name: 'hosts: exact (any case), suffix; notHosts',
    policies: () => allowTo('{ hosts: [httpbin.foo:8000, "*.example.com"], notHosts: [bad.example.com] }'),
    requests: [
      { want: 200 },
      { headers: { host: 'HTTPBIN.FOO:8000' }, want: 200 },
      { headers: { host: 'a.example.com' }, want: 200 },
      { headers: { host: 'bad.example.com' }, want: 403 },
      { headers: { host: 'other' }, want: 403 },
    ],
  },
  { name: 'ports: the workload port', policies: (a) => allowTo(`{ ports: ["${a.httpPort}"] }`), requests: [{ want: 200 }] },
  { name: 'ports: another port', policies: () => allowTo('{ ports: ["1"] }'), requests: [{ want: 403 }] },
  { name: 'notPorts', policies: (a) => allowTo(`{ notPorts: ["${a.httpPort}"] }`), requests: [{ want: 403 }] },
  { name: 'ipBlocks: the direct peer', policies: () => allowFrom('{ ipBlocks: [127.0.0.5, "127.0.1.0/24"] }'), requests: [{ from: '127.0.0.5', want: 200 }, { from: '127.0.1.9', want: 200 }, { from: '127.0.0.6', want: 403 }] },
  { name: 'notIpBlocks', policies: () => allowFrom('{ notIpBlocks: [127.0.0.6] }'), requests: [{ from: '127.0.0.5', want: 200 }, { from: '127.0.0.6', want: 403 }] },
  {
    name: 'remoteIpBlocks: the client from x-forwarded-for',
    policies: () => allowFrom('{ remoteIpBlocks: ["10.1.2.0/24"] }'),
    requests: [{ headers: { 'x-forwarded-for': '10.1.2.3' }, want: 200 }, { headers: { 'x-forwarded-for': '10.9.9.9, 10.1.2.4' }, want: 200 }, { headers: { 'x-forwarded-for': '10.1.2.3, 10.9.9.9' }, want: 403 }, { want: 403 }],
  },
  { name: 'notRemoteIpBlocks', policies: () => allowFrom('{ notRemoteIpBlocks: ["10.1.2.0/24"] }'), requests: [{ headers: { 'x-forwarded-for': '10.1.2.3' }, want: 403 }, { want: 200 }] },
  { name: 'principals: none without mTLS', policies: () => allowFrom('{ principals: ["*"] }'), requests: [{ want: 403 }] },
  { name: 'notPrincipals: a plaintext client has none', policies: () => allowFrom('{ notPrincipals: [cluster.local/ns/foo/sa/curl] }'), requests: [{ want: 200 }] },
  { name: 'namespaces: none without mTLS', policies: () => allowFrom('{ namespaces: [foo] }'), requests: [{ want: 403 }] },
  { name: 'serviceAccounts: none without mTLS', policies: () => allowFrom('{ serviceAccounts: [curl] }'), requests: [{ want: 403 }] },
  { name: 'requestPrincipals: never without a verified JWT', policies: () => allowFrom('{ requestPrincipals: ["*"] }'), requests: [{ want: 403 }, { headers: { authorization: 'Bearer x.y.z' }, want: 403 }] },
  { name: 'notRequestPrincipals "*" (DENY): requests without a JWT are denied', policies: () => policy('require-jwt', 'action: DENY\nrules:\n- from:\n  - source: { notRequestPrincipals: ["*"] }'), requests: [{ want: 403 }] },
  { name: 'when request.headers: values', policies: () => allowWhen('request.headers[x-token]', '[admin, "team-*"]'), requests: [{ headers: { 'x-token': 'admin' }, want: 200 }, { headers: { 'x-token': 'team-a' }, want: 200 }, { headers: { 'x-token': 'guest' }, want: 403 }, { want: 403 }] },
  { name: 'when request.headers: notValues', policies: () => allowWhen('request.headers[x-token]', '[guest]', true), requests: [{ headers: { 'x-token': 'admin' }, want: 200 }, { headers: { 'x-token': 'guest' }, want: 403 }] },
  { name: 'when request.headers "*": present', policies: () => allowWhen('request.headers[x-token]', '["*"]'), requests: [{ headers: { 'x-token': 'a' }, want: 200 }, { want: 403 }] },
  { name: 'when source.ip', policies: () => allowWhen('source.ip', '["127.0.0.5/32"]'), requests: [{ from: '127.0.0.5', want: 200 }, { from: '127.0.0.6', want: 403 }] },
  { name: 'when remote.ip', policies: () => allowWhen('remote.ip', '[10.1.2.3]'), requests: [{ headers: { 'x-forwarded-for': '10.1.2.3' }, want: 200 }, { want: 403 }] },
  { name: 'when destination.ip', policies: () => allowWhen('destination.ip', `["${POD_IP}"]`), requests: [{ want: 200 }] },
  { name: 'when destination.ip: another', policies: () => allowWhen('destination.ip', '["10.0.0.0/8"]'), requests: [{ want: 403 }] },
  { name: 'when destination.port', policies: (a) => allowWhen('destination.port', `["${a.httpPort}"]`), requests: [{ want: 200 }] },
  { name: 'when destination.port notValues', policies: (a) => allowWhen('destination.port', `["${a.httpPort}"]`, true), requests: [{ want: 403 }] },
  { name: 'when connection.sni: none on plaintext', policies: () => allowWhen('connection.sni', '["*"]'), requests: [{ want: 403 }] },
  { name: 'when source.namespace / source.principal: none without mTLS', policies: () => allowWhen('source.namespace', '[foo]') + allowWhen('source.principal', '["*"]').replace('name: allow', 'name: allow-2'), requests: [{ want: 403 }] },
  { name: 'when request.auth.claims: never without a JWT', policies: () => allowWhen('request.auth.claims[groups]', '[admin]'), requests: [{ want: 403 }] },
  { name: 'from AND to AND when; values ORed', policies: () => policy('allow', 'rules:\n- from:\n  - source: { ipBlocks: [127.0.0.5] }\n  to:\n  - operation: { methods: [GET] }\n  when:\n  - key: request.headers[x-a]\n    values: ["1"]'), requests: [{ from: '127.0.0.5', headers: { 'x-a': '1' }, want: 200 }, { from: '127.0.0.5', want: 403 }, { from: '127.0.0.5', method: 'POST', headers: { 'x-a': '1' }, want: 403 }, { from: '127.0.0.6', headers: { 'x-a': '1' }, want: 403 }] },
  { name: 'several to entries are ORed', policies: () => policy('allow', 'rules:\n- to:\n  - operation: { paths: [/a] }\n  - operation: { methods: [POST] }'), requests: [{ path: '/a', want: 200 }, { method: 'POST', path: '/b', want: 200 }, { path: '/b', want: 403 }] },
  { name: 'DENY beats ALLOW', policies: () => policy('allow-all', 'rules: [{}]') + denyTo('{ paths: [/admin] }'), requests: [{ path: '/admin', want: 403 }, { path: '/x', want: 200 }] },
  { name: 'AUDIT never changes the decision', policies: () => policy('audit', 'action: AUDIT\nrules: [{}]'), requests: [{ want: 200 }] },
  { name: 'CUSTOM (no external authorizer): what it selects is denied', policies: () => policy('ext', 'action: CUSTOM\nprovider: { name: my-ext-authz }\nrules:\n- to:\n  - operation: { paths: [/headers] }'), requests: [{ path: '/headers', want: 403 }, { path: '/ip', want: 200 }] },
  { name: 'selector that matches', policies: () => policy('allow-nothing', 'selector: { matchLabels: { app: httpbin, version: v1 } }'), requests: [{ want: 403 }] },
  { name: 'selector that does not match', policies: () => policy('allow-nothing', 'selector: { matchLabels: { app: other } }'), requests: [{ want: 200 }] },
  { name: 'root namespace: mesh-wide', policies: () => policy('deny-admin', 'action: DENY\nrules:\n- to:\n  - operation: { paths: [/admin] }', 'istio-system'), requests: [{ path: '/admin', want: 403 }, { want: 200 }] },
  { name: 'root namespace with a selector: matching workloads in every namespace', policies: () => policy('mesh-nothing', 'selector: { matchLabels: { app: httpbin } }', 'istio-system'), requests: [{ want: 403 }] },
  { name: 'another namespace: not applied', policies: () => policy('allow-nothing', '{}', 'bar'), requests: [{ want: 200 }] },
  { name: 'targetRefs (gateways, waypoints): not applied to a sidecar', policies: () => policy('gw', 'targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: gw }]\naction: DENY\nrules: [{}]'), requests: [{ want: 200 }] },
];

t.test('AuthorizationPolicy fields, translated and enforced', async (t) => {
  const apps = await startApps(t);
  for (const c of cases) {
    const sc = await startSidecar(apps, c.policies(apps));
    try {
      for (const r of c.requests) {
        const res = await send(apps, r);
        t.equal(res.status, r.want, `${c.name}: ${r.method ?? 'GET'} ${r.path ?? '/'}${r.from ? ` from ${r.from}` : ''}${r.headers ? ` ${JSON.stringify(r.headers)}` : ''}`);
        if (r.want === 403) t.equal(res.body, 'RBAC: access denied', `${c.name}: RBAC body`);
      }
    } finally {
      await sc.close();
    }
  }
});
