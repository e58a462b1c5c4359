/**
 * Several VirtualServices for one host, and `delegate`: generated for a proxy, compiled with
 * @minimesh/config, and requests replayed through the compiled route table (as the proxy routes).
 */
import t from 'tap';
import { matchRoute, selectVirtualHost, type ForwardActionRt, type RequestView } from '@minimesh/config';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';
import { compileAll } from './helpers/compile.js';

const GATEWAY_NODE = 'router~10.0.0.5~ingress-1.istio-system~istio-system.svc.cluster.local';
const SIDECAR_NODE = 'sidecar~10.10.0.9~web-1.default~default.svc.cluster.local';

const service = (name: string, ns = 'default', port = 80): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { ports: [{ name: http, port: ${port} }] }
`;

const gateway = (name: string, ns: string, hosts: string[]): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ${JSON.stringify(hosts)} }]
`;

function generate(docs: string[], node: string, labels: Record<string, string>) {
  const { resources, issues } = loadManifests(docs.join('---\n'), 'test.yaml');
  const model = buildMeshModel(resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(node, { LABELS: labels }, model));
  const compiled = compileAll(res);
  /** The cluster a request for `authority` + `path` is forwarded to (or the route's kind). */
  const send = (routeName: string, authority: string, path: string, headers: Record<string, string> = {}): string | undefined => {
    const rc = compiled.routes.get(routeName);
    if (!rc) throw new Error(`no route table ${routeName}`);
    const r: RequestView = { method: 'GET', path, authority, headerNames: Object.keys(headers), headerValues: Object.values(headers) };
    const vh = selectVirtualHost(rc, authority);
    const route = vh && matchRoute(vh, r);
    if (!route) return undefined;
    return route.action.kind === 'forward' ? (route.action as ForwardActionRt).clusters.map((c) => c.name).join(',') : route.action.kind;
  };
  const table = (name: string) => res.routes.find((r) => r.name === name) as { virtual_hosts: { name: string; domains: string[]; routes: { name?: string; match: Record<string, unknown> }[] }[] };
  return { res, issues: issues.map((i) => `${i.field}: ${i.message}`), compiled, send, table, warnings: res.warnings };
}
const gw = (docs: string[]) => generate(docs, GATEWAY_NODE, { istio: 'ingressgateway' });
const sidecar = (docs: string[]) => generate(docs, SIDECAR_NODE, { app: 'web' });
const cl = (host: string, port = 80): string => `outbound|${port}||${host}`;

t.test('gateway: VirtualServices for one host merge, oldest first, catch-all routes last (Istio docs: split large virtual services)', async (t) => {
  const vs = (name: string, ts: string, http: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default, creationTimestamp: "${ts}" }
spec:
  hosts: [myapp.com]
  gateways: [myapp-gateway]
  http:
${http}`;
  // The older one is named so that name order would put it second.
  // Its route after the catch-all can never match: Istio stops there, and so it stays unreachable after the merge.
  const older = vs('zz-part1', '2024-01-01T00:00:00Z', `  - match: [{ uri: { prefix: /service1 } }]
    route: [{ destination: { host: service1 } }]
  - route: [{ destination: { host: service3 } }]
  - match: [{ uri: { prefix: /never } }]
    route: [{ destination: { host: service2 } }]
`);
  const newer = vs('aa-part2', '2024-01-02T00:00:00Z', `  - match: [{ uri: { prefix: /service2 } }]
    route: [{ destination: { host: service2 } }]
`);
  const g = gw([service('service1'), service('service2'), service('service3'), gateway('myapp-gateway', 'default', ['myapp.com']), newer, older]);
  t.same(g.issues, []);
  t.same(g.compiled.errors, []);
  const vhosts = g.table('http.80').virtual_hosts;
  t.same(vhosts.map((v) => v.name), ['myapp.com:80'], 'one virtual host for the host');
  t.same(vhosts[0].routes.map((r) => r.match), [{ prefix: '/service1' }, { prefix: '/service2' }, { prefix: '/' }], 'oldest first, catch-all moved last');
  t.equal(g.send('http.80', 'myapp.com', '/service1/x'), cl('service1.default.svc.cluster.local'));
  t.equal(g.send('http.80', 'myapp.com', '/service2/x'), cl('service2.default.svc.cluster.local'), "the newer VirtualService's route is reached");
  t.equal(g.send('http.80', 'myapp.com', '/other'), cl('service3.default.svc.cluster.local'), "the older one's catch-all takes the rest");
  t.equal(g.send('http.80', 'myapp.com', '/never'), cl('service3.default.svc.cluster.local'), 'a route after a catch-all stays unreachable');
  t.notOk(g.warnings.some((w) => /already claimed/.test(w)), 'no host is dropped');
});

t.test('gateway: wildcard and exact hosts (Istio host intersection)', async (t) => {
  const vs = (name: string, hosts: string[], dest: string, day: number): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: istio-system, creationTimestamp: "2024-01-0${day}T00:00:00Z" }
spec:
  hosts: ${JSON.stringify(hosts)}
  gateways: [gw]
  http: [{ route: [{ destination: { host: ${dest}.default.svc.cluster.local } }] }]
`;
  const g = gw([
    service('a'),
    service('wild'),
    service('any'),
    gateway('gw', 'istio-system', ['*.example.com', 'shop.test']),
    vs('exact', ['a.example.com'], 'a', 1),
    vs('suffix', ['*.example.com'], 'wild', 2),
    vs('everything', ['*'], 'any', 3),
  ]);
  t.same(g.compiled.errors, []);
  const vhosts = g.table('http.80').virtual_hosts;
  t.same(vhosts.map((v) => v.domains[0]).sort(), ['*.example.com', 'a.example.com', 'shop.test'], 'the narrower host of each server/VirtualService pair');
  t.equal(g.send('http.80', 'a.example.com', '/'), cl('a.default.svc.cluster.local'), 'exact host wins over the wildcard');
  t.equal(g.send('http.80', 'b.example.com', '/'), cl('wild.default.svc.cluster.local'), 'the wildcard takes other names');
  // `*` meets `*.example.com`: its routes join that host's, after the older VirtualService's.
  const wildRoutes = vhosts.find((v) => v.domains[0] === '*.example.com')!.routes;
  t.equal(wildRoutes.length, 2, 'the `*` VirtualService merged into *.example.com');
  t.equal(g.send('http.80', 'shop.test', '/'), cl('any.default.svc.cluster.local'), 'the `*` VirtualService serves the server host shop.test');
  t.equal(g.send('http.80', 'other.test', '/'), undefined, 'a host no server lists has no virtual host');
});

t.test('sidecar: the oldest VirtualService for a host wins, a warning names the others (IST0109)', async (t) => {
  const vs = (name: string, ts: string | undefined, host: string, dest: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default${ts ? `, creationTimestamp: "${ts}"` : ''} }
spec:
  hosts: [${host}]
  http: [{ route: [{ destination: { host: ${dest} } }] }]
`;
  const s = sidecar([service('reviews', 'default', 9080), service('v1', 'default', 9080), service('v2', 'default', 9080), vs('a-new', '2024-02-01T00:00:00Z', 'reviews', 'v2'), vs('z-old', '2024-01-01T00:00:00Z', 'reviews', 'v1')]);
  t.same(s.compiled.errors, []);
  t.equal(s.send('9080', 'reviews:9080', '/'), cl('v1.default.svc.cluster.local', 9080), 'the older (z-old) is used');
  t.ok(s.warnings.includes('VirtualServices default/a-new: host reviews.default.svc.cluster.local is also claimed for the mesh by the older default/z-old, which is used (IST0109)'), s.warnings.join('\n'));

  const noTs = sidecar([service('reviews', 'default', 9080), service('v1', 'default', 9080), service('v2', 'default', 9080), vs('b', undefined, 'reviews', 'v2'), vs('a', undefined, 'reviews', 'v1')]);
  t.equal(noTs.send('9080', 'reviews:9080', '/'), cl('v1.default.svc.cluster.local', 9080), 'without timestamps: name order, as Istio orders timestamp-less config');
  const nsVs = (name: string, ns: string, dest: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${ns} }
spec:
  hosts: [reviews.default.svc.cluster.local]
  http: [{ route: [{ destination: { host: ${dest}.default.svc.cluster.local } }] }]
`;
  const byName = sidecar([service('reviews', 'default', 9080), service('v1', 'default', 9080), service('v2', 'default', 9080), nsVs('b', 'alpha', 'v2'), nsVs('a', 'zulu', 'v1')]);
  t.equal(byName.send('9080', 'reviews:9080', '/'), cl('v1.default.svc.cluster.local', 9080), 'ties on time: name before namespace (pilot sortConfigByCreationTime)');

  const mixed = sidecar([
    service('reviews', 'default', 9080),
    service('ratings', 'default', 9080),
    service('v1', 'default', 9080),
    service('v2', 'default', 9080),
    vs('wild', '2024-01-01T00:00:00Z', '"*.default.svc.cluster.local"', 'v2'),
    vs('exact', '2024-03-01T00:00:00Z', 'reviews', 'v1'),
  ]);
  t.same(mixed.compiled.errors, []);
  t.equal(mixed.send('9080', 'reviews:9080', '/'), cl('v1.default.svc.cluster.local', 9080), 'an exact host beats an older wildcard');
  t.equal(mixed.send('9080', 'ratings:9080', '/'), cl('v2.default.svc.cluster.local', 9080), 'the wildcard covers the rest');
  t.notOk(mixed.warnings.some((w) => /IST0109/.test(w)), 'exact and wildcard are no conflict');
});
