/**
 * Simulation (Istio's pilot/pkg/simulation idea): generate for a proxy, compile with
 * @minimesh/config, replay a request through the compiled route table, and assert which
 * route and cluster it hits.
 */
import t from 'tap';
import path from 'node:path';
import { matchRoute, pickWeightedCluster, selectVirtualHost, type ForwardActionRt, type RequestView } from '@minimesh/config';
import { generateForProxy, proxyIdentity, type MeshModel } from '../src/index.js';
import { compileAll } from './helpers/compile.js';
import { BOOKINFO, bookinfoSkip, makeModel, REPO_ROOT } from './helpers/fixtures.js';

const bookinfo = (...net: string[]): MeshModel =>
  makeModel([path.join(BOOKINFO, 'platform/bookinfo.yaml'), path.join(BOOKINFO, 'networking/destination-rule-all.yaml'), ...net.map((f) => path.join(BOOKINFO, 'networking', f))]).model;

const req = (authority: string, p: string, headers: Record<string, string> = {}, method = 'GET'): RequestView => ({
  method,
  path: p,
  authority,
  headerNames: Object.keys(headers),
  headerValues: Object.values(headers),
});

/** Routes a request the way the proxy would: route table `routeName`, then vhost, route, weighted pick. */
function simulate(model: MeshModel, nodeId: string, routeName: string, r: RequestView, labels?: Record<string, string>) {
  const res = generateForProxy(model, proxyIdentity(nodeId, labels ? { LABELS: labels } : {}, model));
  const compiled = compileAll(res);
  const rc = compiled.routes.get(routeName);
  if (!rc) throw new Error(`no route ${routeName}: ${compiled.errors.join('; ')}`);
  const vh = selectVirtualHost(rc, r.authority);
  const route = vh && matchRoute(vh, r);
  const pick = (x: number): string | undefined => (route?.action.kind === 'forward' ? pickWeightedCluster(route.action as ForwardActionRt, x).name : undefined);
  return { vhost: vh?.name, route, pick, errors: compiled.errors };
}

const PRODUCTPAGE = 'sidecar~10.6.0.1~productpage-v1-0.default~default.svc.cluster.local';

t.test('reviews 80/20: weights over many requests', { skip: bookinfoSkip(t) }, async (t) => {
  const model = bookinfo('virtual-service-reviews-80-20.yaml');
  const s = simulate(model, PRODUCTPAGE, '9080', req('reviews:9080', '/reviews/0'));
  t.same(s.errors, []);
  t.equal(s.vhost, 'reviews.default.svc.cluster.local:9080');
  const counts = new Map<string, number>();
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    const c = s.pick((i + 0.5) / N)!;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  t.ok(Math.abs(counts.get('outbound|9080|v1|reviews.default.svc.cluster.local')! / N - 0.8) < 0.01, 'v1 gets 80 %');
  t.ok(Math.abs(counts.get('outbound|9080|v2|reviews.default.svc.cluster.local')! / N - 0.2) < 0.01, 'v2 gets 20 %');
});

t.test('end-user: jason goes to reviews v2, others to v3', { skip: bookinfoSkip(t) }, async (t) => {
  const model = bookinfo('virtual-service-reviews-jason-v2-v3.yaml');
  for (const authority of ['reviews', 'reviews.default', 'reviews.default.svc.cluster.local:9080']) {
    t.equal(simulate(model, PRODUCTPAGE, '9080', req(authority, '/reviews/0', { 'end-user': 'jason' })).pick(0.5), 'outbound|9080|v2|reviews.default.svc.cluster.local', `${authority} as jason`);
    t.equal(simulate(model, PRODUCTPAGE, '9080', req(authority, '/reviews/0')).pick(0.5), 'outbound|9080|v3|reviews.default.svc.cluster.local', `${authority} anonymous`);
  }
});

t.test('a service without VirtualService takes the default route with Istio retries', { skip: bookinfoSkip(t) }, async (t) => {
  const s = simulate(bookinfo(), PRODUCTPAGE, '9080', req('details:9080', '/details/0'));
  t.equal(s.route?.name, 'default');
  const a = s.route!.action as ForwardActionRt;
  t.equal(a.timeoutMs, 0, 'Istio disables the route timeout');
  t.equal(a.retryPolicy?.numRetries, 2);
  t.same([...a.retryPolicy!.retryOn].sort(), ['cancelled', 'connect-failure', 'refused-stream', 'retriable-status-codes', 'unavailable']);
  t.equal(a.retryPolicy?.avoidPreviousHosts, true);
  t.equal(s.pick(0.1), 'outbound|9080||details.default.svc.cluster.local');
});

t.test('unknown hosts get no route (404 NR)', { skip: bookinfoSkip(t) }, async (t) => {
  t.equal(simulate(bookinfo(), PRODUCTPAGE, '9080', req('example.com', '/')).vhost, undefined);
});

t.test('lab-09 ingress gateway: prefixes to customer and order services', async (t) => {
  const k8s = path.join(REPO_ROOT, 'examples/microservices/k8s');
  const { model, issues } = makeModel(['namespace.yaml', 'customer.yaml', 'order.yaml', 'microservices-istio.yaml'].map((f) => path.join(k8s, f)));
  t.same(issues, []);
  const gw = 'router~10.9.0.1~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local';
  const labels = { istio: 'ingressgateway' };
  const res = generateForProxy(model, proxyIdentity(gw, { LABELS: labels }));
  t.same(res.listeners.map((l) => (l.address as { socket_address: { port_value: number } }).socket_address.port_value), [8080], 'server port 80 listens on 8080');
  const c = simulate(model, gw, 'http.80', req('192.168.39.77:30033', '/customers-service/v2/customers'), labels);
  t.equal(c.pick(0), 'outbound|8102||customer-service.default.svc.cluster.local');
  t.equal(simulate(model, gw, 'http.80', req('localhost', '/orders-service/v2/orders'), labels).pick(0), 'outbound|8103||order-service.default.svc.cluster.local');
  t.equal(simulate(model, gw, 'http.80', req('localhost', '/other'), labels).route, undefined, 'no route for other paths');
});

t.test('bookinfo gateway: /productpage and /static/* go to productage:9080', { skip: bookinfoSkip(t) }, async (t) => {
  const model = bookinfo('bookinfo-gateway.yaml');
  const gw = 'router~10.9.0.1~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local';
  const labels = { istio: 'ingressgateway' };
  for (const p of ['/productpage', '/static/x.css', '/api/v1/products/1', '/login']) {
    t.equal(simulate(model, gw, 'http.8080', req('bookinfo.example', p), labels).pick(0), 'outbound|9080||productpage.default.svc.cluster.local', p);
  }
  t.equal(simulate(model, gw, 'http.8080', req('bookinfo.example', '/productpages'), labels).route, undefined, 'exact means exact');
});
