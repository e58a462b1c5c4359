/**
 * VirtualService `delegate` (Istio's docs example: a `bookinfo` root with `productpage` and
 * `reviews` delegates), match merging (Istio's mergeHTTPMatchRequests) and what is left out.
 * Namespaces are the example's nsA/nsB in lower case (Kubernetes names).
 */
import t from 'tap';
import { matchRoute, selectVirtualHost, type ForwardActionRt, type RequestView } from '@minimesh/config';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';
import { mergeHttpMatches } from '../src/generate/merge-http-match.js';
import { compileAll } from './helpers/compile.js';

const NODE = 'router~10.0.0.5~ingress-1.istio-system~istio-system.svc.cluster.local';

const service = (name: string, ns: string): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { ports: [{ name: http, port: 9080 }] }
`;

const SETUP = [
  service('productpage', 'nsa'),
  service('productpage-v1', 'nsa'),
  service('reviews', 'nsb'),
  `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: nsa }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [bookinfo.com] }]
`,
];

const ROOT = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo, namespace: nsa }
spec:
  hosts: [bookinfo.com]
  gateways: [mygateway]
  http:
  - match: [{ uri: { prefix: /productpage } }]
    delegate: { name: productpage, namespace: nsa }
  - match: [{ uri: { prefix: /reviews } }]
    timeout: 3s
    delegate: { name: reviews, namespace: nsb }
`;

const PRODUCTPAGE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: productpage, namespace: nsa }
spec:
  http:
  - match: [{ uri: { prefix: /productpage/v1/ } }]
    route: [{ destination: { host: productpage-v1.nsa.svc.cluster.local } }]
  - route: [{ destination: { host: productpage.nsa.svc.cluster.local } }]
`;

// Short host: it names reviews in the delegate's namespace (nsb), not the root's.
const reviews = (extra = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: nsb }
spec:
${extra}  http:
  - route: [{ destination: { host: reviews } }]
`;

function generate(docs: string[]) {
  const { resources, issues } = loadManifests(docs.join('---\n'), 'test.yaml');
  const model = buildMeshModel(resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, { LABELS: { istio: 'ingressgateway' } }, model));
  const compiled = compileAll(res);
  const send = (path: string): string | undefined => {
    const rc = compiled.routes.get('http.80')!;
    const r: RequestView = { method: 'GET', path, authority: 'bookinfo.com', headerNames: [], headerValues: [] };
    const vh = selectVirtualHost(rc, r.authority);
    const route = vh && matchRoute(vh, r);
    if (!route) return undefined;
    return route.action.kind === 'forward' ? (route.action as ForwardActionRt).clusters.map((c) => c.name).join(',') : route.action.kind;
  };
  const routes = (res.routes.find((r) => r.name === 'http.80') as { virtual_hosts: { routes: Record<string, unknown>[] }[] }).virtual_hosts[0].routes;
  return { issues: issues.map((i) => `${i.kind} ${i.name}: ${i.field}: ${i.message}`), errors: compiled.errors, send, routes, warnings: res.warnings };
}

t.test("Istio's delegate example: the root's routes become the delegates' routes", async (t) => {
  const g = generate([...SETUP, ROOT, PRODUCTPAGE, reviews()]);
  t.same(g.issues, [], 'root and delegates validate');
  t.same(g.errors, [], 'compiles');
  t.same(g.warnings, []);
  t.same(
    g.routes.map((r) => r.match),
    [{ prefix: '/productpage/v1/' }, { prefix: '/productpage' }, { prefix: '/reviews' }],
    "the delegate's match where it narrows the root's, else the root's",
  );
  t.equal(g.send('/productpage/v1/x'), 'outbound|9080||productpage-v1.nsa.svc.cluster.local');
  t.equal(g.send('/productpage'), 'outbound|9080||productpage.nsa.svc.cluster.local');
  t.equal(g.send('/reviews/1'), 'outbound|9080||reviews.nsb.svc.cluster.local', "a delegate's short host is in its own namespace");
  t.equal(g.send('/ratings'), undefined, 'nothing else is routed');
  const reviewsRoute = g.routes[2].route as { timeout?: string };
  t.equal(reviewsRoute.timeout, '3s', "the root route's timeout fills the delegate route's");
});

t.test('a delegate route outside the root match is left out; missing, hosted and unexported delegates leave the root route out', async (t) => {
  const outside = PRODUCTPAGE.replace('prefix: /productpage/v1/', 'prefix: /static/');
  const a = generate([...SETUP, ROOT, outside, reviews()]);
  t.same(a.routes.map((r) => r.match), [{ prefix: '/productpage' }, { prefix: '/reviews' }], '/static/ is not within /productpage');
  t.ok(a.warnings.includes('VirtualService nsa/productpage: http[0] matches outside the match of nsa/bookinfo http[0]; the route is left out'), a.warnings.join('\n'));

  const missing = generate([...SETUP, ROOT, PRODUCTPAGE]);
  t.equal(missing.send('/reviews/1'), undefined);
  t.ok(missing.warnings.includes('VirtualService nsa/bookinfo: http[1] delegates to VirtualService nsb/reviews, which does not exist; the route is left out'), missing.warnings.join('\n'));

  const hosted = generate([...SETUP, ROOT, PRODUCTPAGE, reviews('  hosts: [reviews]\n')]);
  t.equal(hosted.send('/reviews/1'), undefined);
  t.ok(hosted.warnings.includes('VirtualService nsa/bookinfo: http[1] delegates to VirtualService nsb/reviews, which has hosts, so it is not a delegate; the route is left out'));

  const privateOne = generate([...SETUP, ROOT, PRODUCTPAGE, reviews('  exportTo: ["."]\n')]);
  t.equal(privateOne.send('/reviews/1'), undefined, 'exported to nsb only');
  t.ok(privateOne.warnings.includes('VirtualService nsa/bookinfo: http[1] delegates to VirtualService nsb/reviews, which is not exported to namespace nsa; the route is left out'));
  const exported = generate([...SETUP, ROOT, PRODUCTPAGE, reviews('  exportTo: [nsa]\n')]);
  t.equal(exported.send('/reviews/1'), 'outbound|9080||reviews.nsb.svc.cluster.local', 'exported to nsa by name');
});

t.test('validation: delegates have no hosts, gateways, tls or tcp, and delegate one level deep', async (t) => {
  const bad = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: d, namespace: nsb }
spec:
  gateways: [mygateway]
  http:
  - delegate: { name: other }
  - route: [{ destination: { host: reviews } }]
    delegate: { name: reviews }
`;
  const { issues } = loadManifests(bad, 'bad.yaml');
  const msgs = issues.map((i) => `${i.field}: ${i.message}`);
  t.ok(msgs.includes('spec.gateways: must not be set in a delegate VirtualService (one without hosts)'), msgs.join('\n'));
  t.ok(msgs.includes('spec.http[0].delegate: a delegate VirtualService (one without hosts) cannot delegate again: delegation is one level deep'));
  t.ok(msgs.includes('spec.http[1]: only one of route, redirect, directResponse, delegate may be set (got route, delegate)'));
  const noName = loadManifests(ROOT.replace('delegate: { name: productpage, namespace: nsa }', 'delegate: { namespace: nsa }'), 'x.yaml');
  t.ok(noName.issues.some((i) => i.field === 'spec.http[0].delegate.name' && i.message === 'is required'));
});

t.test("match merging follows Istio's mergeHTTPMatchRequests", async (t) => {
  const p = (prefix: string) => ({ uri: { prefix } });
  const e = (exact: string) => ({ uri: { exact } });
  t.same(mergeHttpMatches([p('/a')], [p('/a/b')]), [p('/a/b')], 'a longer prefix narrows the root prefix');
  t.equal(mergeHttpMatches([p('/a/b')], [p('/a')]), undefined, 'a shorter prefix conflicts');
  t.same(mergeHttpMatches([p('/a')], [e('/a/x')]), [e('/a/x')], 'an exact path within the prefix');
  t.equal(mergeHttpMatches([e('/a')], [p('/a')]), undefined, 'a prefix under an exact root conflicts');
  t.same(mergeHttpMatches([e('/a')], [e('/a')]), [e('/a')], 'the same exact path');
  t.equal(mergeHttpMatches([{ uri: { regex: '/a.*' } }], [p('/a')]), undefined, 'regex conflicts');
  t.same(mergeHttpMatches(undefined, [p('/x')]), [p('/x')], 'a root without matches takes the delegate matches');
  t.same(mergeHttpMatches([p('/x')], undefined), [p('/x')], 'a delegate without matches takes the root matches');
  t.same(
    mergeHttpMatches([{ ...p('/a'), name: 'r', headers: { 'x-a': { exact: '1' } } }], [{ name: 'd', headers: { 'x-b': { exact: '2' } }, method: { exact: 'GET' } }]),
    [{ name: 'r-d', uri: { prefix: '/a' }, method: { exact: 'GET' }, headers: { 'x-a': { exact: '1' }, 'x-b': { exact: '2' } } }],
    'conditions of both, names joined',
  );
  t.equal(mergeHttpMatches([{ headers: { v: { exact: '1' } } }], [{ headers: { v: { exact: '2' } } }]), undefined, 'a header both set differently conflicts');
  t.same(mergeHttpMatches([p('/a'), p('/b')], [p('/b/c')]), [p('/b/c')], 'a delegate block fitting one of several root blocks');
  t.equal(mergeHttpMatches([{ port: 80 }], [{ port: 81 }]), undefined, 'different ports conflict');
});
