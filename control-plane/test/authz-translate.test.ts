/**
 * AuthorizationPolicy translation: loading and validation (errors naming the field), the
 * identity fields that need mutual TLS (principals, namespaces, service accounts, source.*),
 * checked by compiling the generated RBAC with @minimesh/config and evaluating it with and
 * without a client certificate, Istio's filter order, and the CUSTOM warning.
 */
import t from 'tap';
import { fromJsonData, TYPE_URL } from '@minimesh/api';
import { compileListener, evaluateRbac, type RbacInput } from '@minimesh/config';
import { formatIssue } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';

const WORKLOAD = `apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec: { selector: { app: httpbin }, ports: [{ name: http, port: 8000, targetPort: 8080 }, { name: tcp, port: 9000 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: httpbin-1, namespace: foo, labels: { app: httpbin } }
spec: { containers: [{ name: c, image: i, ports: [{ containerPort: 8080 }, { containerPort: 9000 }] }] }
status: { podIP: 10.8.0.2, phase: Running }
---
`;
const NODE = 'sidecar~10.8.0.2~httpbin-1.foo~foo.svc.cluster.local';

function translate(policies: string) {
  const loaded = loadManifests(WORKLOAD + policies, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, {}, model));
  const compiled = (port: number) => {
    const l = res.listeners.find((x) => x.name === `10.8.0.2_${port}`)!;
    const p = fromJsonData<never>(TYPE_URL.Listener, l);
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    const c = compileListener(p.value);
    if (!c.ok) throw new Error(JSON.stringify(c.errors));
    return c.value;
  };
  return { issues: loaded.issues.map(formatIssue), res, http: compiled(8080), tcp: compiled(9000) };
}

const input = (principal: string | undefined, tcp = false): RbacInput => ({
  request: tcp ? undefined : { method: 'GET', path: '/', authority: 'httpbin', headerNames: [], headerValues: [] },
  directRemoteIp: '10.8.0.9',
  remoteIp: '10.8.0.9',
  localIp: '10.8.0.2',
  localPort: tcp ? 9000 : 8080,
  principal,
  sni: '',
  metadata: undefined,
});

const allowFrom = (source: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: foo }
spec:
  rules:
  - from:
    - source: ${source}
`;

t.test('identity fields with and without a client certificate (HTTP and TCP)', async (t) => {
  const curl = 'spiffe://cluster.local/ns/foo/sa/curl';
  const other = 'spiffe://cluster.local/ns/bar/sa/web';
  const cases: [string, string | undefined, boolean][] = [
    ['{ principals: [cluster.local/ns/foo/sa/curl] }', curl, true],
    ['{ principals: [cluster.local/ns/foo/sa/curl] }', other, false],
    ['{ principals: [cluster.local/ns/foo/sa/curl] }', undefined, false],
    ['{ principals: ["cluster.local/ns/foo/*"] }', curl, true],
    ['{ principals: ["*/sa/web"] }', other, true],
    ['{ principals: ["*"] }', other, true],
    ['{ notPrincipals: [cluster.local/ns/foo/sa/curl] }', curl, false],
    ['{ notPrincipals: [cluster.local/ns/foo/sa/curl] }', other, true],
    ['{ namespaces: [foo] }', curl, true],
    ['{ namespaces: [foo] }', other, false],
    ['{ namespaces: ["b*"] }', other, true],
    ['{ notNamespaces: [foo] }', other, true],
    ['{ notNamespaces: [foo] }', curl, false],
    ['{ serviceAccounts: [curl] }', curl, true],
    ['{ serviceAccounts: [bar/web] }', other, true],
    ['{ serviceAccounts: [cur] }', curl, false],
    ['{ notServiceAccounts: [curl] }', other, true],
  ];
  for (const [source, principal, want] of cases) {
    const { http, tcp } = translate(allowFrom(source));
    for (const [name, l, isTcp] of [['http', http.hcm!.rbacFilters!, false], ['tcp', tcp.tcpProxy!.rbac!, true]] as const) {
      const got = l.every((f) => f.rules === undefined || evaluateRbac(f.rules, input(principal, isTcp)).allowed);
      t.equal(got, want, `${name} ${source} with ${principal ?? 'no certificate'}`);
    }
  }
  const when = (key: string, values: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: w, namespace: foo }
spec:
  rules:
  - when:
    - { key: ${key}, values: ${values} }
`;
  const ok = (yaml: string, p: string | undefined) => translate(yaml).http.hcm!.rbacFilters!.every((f) => evaluateRbac(f.rules!, input(p)).allowed);
  t.ok(ok(when('source.namespace', '[foo]'), curl));
  t.notOk(ok(when('source.namespace', '[foo]'), other));
  t.ok(ok(when('source.principal', '[cluster.local/ns/bar/sa/web]'), other));
  t.ok(ok(when('source.serviceAccount', '[foo/curl]'), curl));
  t.notOk(ok(when('source.serviceAccount', '[foo/curl]'), undefined));
});

t.test('filter order: metadata exchange, CUSTOM, AUDIT, DENY, ALLOW, stats, router; network RBAC before stats and tcp_proxy', async (t) => {
  const p = (name: string, spec: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: foo }\nspec: ${spec}\n---\n`;
  const { res } = translate(p('a', '{ action: ALLOW, rules: [{}] }') + p('d', '{ action: DENY, rules: [{}] }') + p('l', '{ action: AUDIT, rules: [{}] }') + p('c', '{ action: CUSTOM, provider: { name: x }, rules: [{}] }'));
  const l = res.listeners.find((x) => x.name === '10.8.0.2_8080') as never as { filter_chains: { filters: { typed_config: { http_filters: { name: string; typed_config: { rules: { action: string } } }[] } }[] }[] };
  const hf = l.filter_chains[0].filters[0].typed_config.http_filters;
  t.same(hf.map((f) => f.name), ['istio.metadata_exchange', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'istio.stats', 'envoy.filters.http.router']);
  t.same(hf.slice(1, 5).map((f) => f.typed_config.rules.action), ['DENY', 'LOG', 'DENY', 'ALLOW']);
  const tl = res.listeners.find((x) => x.name === '10.8.0.2_9000') as never as { filter_chains: { filters: { name: string }[] }[] };
  t.same(tl.filter_chains[0].filters.map((f) => f.name), ['envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'istio.stats', 'envoy.filters.network.tcp_proxy']);
  t.match(res.warnings.join('\n'), /AuthorizationPolicy foo\/c: action CUSTOM \(provider "x"\) needs an external authorizer, which minimesh does not run; the requests it selects are denied/);
});

t.test("capture mode enforces the policies in virtualInbound's chains", async (t) => {
  const loaded = loadManifests(WORKLOAD + allowFrom('{ namespaces: [foo] }'), 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, {}, model), { captureMode: true });
  t.notMatch(res.warnings.join('\n'), /not enforced/);
  const vi = JSON.stringify(res.listeners.find((l) => l.name === 'virtualInbound'));
  t.match(vi, /envoy\.filters\.http\.rbac/, 'HTTP RBAC on the HTTP port chain');
  t.match(vi, /envoy\.filters\.network\.rbac/, 'network RBAC on the TCP chains');
});

t.test('validation: errors name the field', async (t) => {
  const bad = (spec: string): string[] => loadManifests(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: bad, namespace: foo }\nspec: ${spec}\n`, 'bad.yaml').issues.map(formatIssue);
  t.match(bad('{ action: MAYBE }').join('\n'), /spec\.action: must be one of ALLOW, DENY, AUDIT, CUSTOM/);
  t.match(bad('{ rules: [{ from: [{ source: { ipBlocks: [10.0.0.300] } }] }] }').join('\n'), /spec\.rules\[0\]\.from\[0\]\.source\.ipBlocks\[0\]: "10\.0\.0\.300" is not an IP address or CIDR range/);
  t.match(bad('{ rules: [{ to: [{ operation: { ports: [http] } }] }] }').join('\n'), /spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]: "http" is not a port number/);
  t.match(bad('{ rules: [{ when: [{ key: request.colour, values: [red] }] }] }').join('\n'), /spec\.rules\[0\]\.when\[0\]\.key: unknown attribute "request\.colour"/);
  t.match(bad('{ rules: [{ when: [{ key: source.ip }] }] }').join('\n'), /spec\.rules\[0\]\.when\[0\]: values or notValues is required/);
  t.match(bad('{ rules: [{ from: [{ source: {} }] }] }').join('\n'), /spec\.rules\[0\]\.from\[0\]\.source: must not be empty/);
  t.match(bad('{ action: CUSTOM }').join('\n'), /spec\.provider: a CUSTOM action needs provider\.name/);
  t.match(bad('{ provider: { name: x } }').join('\n'), /spec\.provider: provider is only allowed with action CUSTOM/);
  t.match(bad('{ selector: { matchLabels: { a: b } }, targetRefs: [{ kind: Gateway, name: g }] }').join('\n'), /only one of selector, targetRef or targetRefs/);
  t.match(bad('{ rules: [{ to: [{ operation: { verbs: [GET] } }] }] }').join('\n'), /spec\.rules\[0\]\.to\[0\]\.operation\.verbs: unknown field/);
  t.same(bad('{ rules: [{ to: [{ operation: { paths: ["/a/{*}"] } }] }] }'), [], 'a valid policy has no issues');
});
