/**
 * Every Bookinfo networking file (Istio's samples/bookinfo/networking), honoured: each one is
 * loaded with the Bookinfo platform (and destination-rule-all for the subsets), translated for
 * the productpage sidecar or the ingress gateway, compiled by the proxy's own compiler, and
 * requests are replayed through the compiled route tables: which cluster they reach, with what
 * weights, and which fault. No file gives an error or a "not supported" warning; the only
 * warning allowed is certmanager-gateway's destination host, which Bookinfo does not define.
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import fs from 'node:fs';
import { matchRoute, selectVirtualHost, type ForwardActionRt, type RequestView, type RouteRt } from '@minimesh/config';
import { generateForProxy, proxyIdentity } from '../src/index.js';
import { compileAll } from './helpers/compile.js';
import { BOOKINFO, bookinfoSkip, makeModel } from './helpers/fixtures.js';

const PRODUCTPAGE = 'sidecar~10.6.0.1~productpage-v1-0.default~default.svc.cluster.local';
const GATEWAY = 'router~10.9.0.1~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local';
const NET = path.join(BOOKINFO, 'networking');
const host = (svc: string): string => `${svc}.default.svc.cluster.local`;
const subset = (svc: string, s: string, port = 9080): string => `outbound|${port}|${s}|${host(svc)}`;

interface Routed {
  /** cluster -> weight (one cluster: weight 1). */
  readonly clusters: Record<string, number>;
  readonly route: RouteRt | undefined;
}

/** Loads `files` (with destination-rule-all unless told otherwise) and gives a request router for a proxy. */
function load(files: string[], withDr = true) {
  const inputs = [path.join(BOOKINFO, 'platform/bookinfo.yaml'), ...(withDr && !files.some((f) => f.startsWith('destination-rule')) ? [path.join(NET, 'destination-rule-all.yaml')] : []), ...files.map((f) => path.join(NET, f))];
  const { model, issues } = makeModel(inputs);
  const gen = (node: string, labels: Record<string, string>) => {
    // As in a mesh whose proxies have certificates (ISTIO_MUTUAL needs them).
    const res = generateForProxy(model, proxyIdentity(node, { LABELS: labels }, model), { mtls: true });
    return { res, compiled: compileAll(res) };
  };
  const sidecar = gen(PRODUCTPAGE, { app: 'productpage', version: 'v1' });
  const gateway = gen(GATEWAY, { istio: 'ingressgateway' });
  const route = (which: typeof sidecar, table: string, authority: string, p: string, headers: Record<string, string> = {}): Routed => {
    const rc = which.compiled.routes.get(table);
    const view: RequestView = { method: 'GET', path: p, authority, headerNames: Object.keys(headers), headerValues: Object.values(headers) };
    const vh = rc === undefined ? undefined : selectVirtualHost(rc, authority);
    const r = vh === undefined ? undefined : matchRoute(vh, view);
    const clusters: Record<string, number> = {};
    if (r?.action.kind === 'forward') for (const c of (r.action as ForwardActionRt).clusters) clusters[c.name] = (r.action as ForwardActionRt).clusters.length === 1 ? 1 : c.weight;
    return { clusters, route: r };
  };
  return {
    issues,
    errors: [...sidecar.compiled.errors, ...gateway.compiled.errors],
    warnings: [...sidecar.res.warnings, ...gateway.res.warnings],
    sidecar: sidecar.res,
    at: (svc: string, p = '/', headers: Record<string, string> = {}) => route(sidecar, '9080', `${svc}:9080`, p, headers),
    viaGateway: (authority: string, p: string, table = 'http.8080') => route(gateway, table, authority, p),
  };
}

type Check = (t: Test, l: ReturnType<typeof load>) => void;
const JASON = { 'end-user': 'jason' };

const checks: Record<string, Check> = {
  'bookinfo-gateway.yaml': (t, l) => {
    for (const p of ['/productpage', '/static/x.css', '/login', '/logout', '/api/v1/products/0']) t.same(l.viaGateway('bookinfo.example', p).clusters, { [`outbound|9080||${host('productpage')}`]: 1 }, p);
    t.equal(l.viaGateway('bookinfo.example', '/admin').route, undefined, 'other paths: no route (404)');
  },
  'certmanager-gateway.yaml': (t, l) => {
    t.same(l.viaGateway('anything.example', '/.well-known/acme-challenge/token', 'http.80').clusters, { 'outbound|8089||cert-manager-resolver.istio-system.svc.cluster.local': 1 });
  },
  'destination-rule-all-mtls.yaml': (t, l) => {
    const v1 = l.sidecar.clusters.find((c) => c.name === subset('reviews', 'v1')) as { transport_socket?: { name?: string } } | undefined;
    t.equal(v1?.transport_socket?.name, 'envoy.transport_sockets.tls', 'ISTIO_MUTUAL: the subset cluster speaks TLS');
    t.same(l.at('reviews').clusters, { [`outbound|9080||${host('reviews')}`]: 1 }, 'no VirtualService: the service as a whole');
  },
  'destination-rule-all.yaml': (t, l) => {
    for (const s of ['v1', 'v2', 'v3']) t.ok(l.sidecar.clusters.some((c) => c.name === subset('reviews', s)), `reviews ${s}`);
    for (const s of ['v1', 'v2', 'v2-mysql', 'v2-mysql-vm']) t.ok(l.sidecar.clusters.some((c) => c.name === subset('ratings', s)), `ratings ${s}`);
  },
  'destination-rule-reviews.yaml': (t, l) => {
    t.equal((l.sidecar.clusters.find((c) => c.name === `outbound|9080||${host('reviews')}`) as { lb_policy?: string }).lb_policy, 'RANDOM');
  },
  'egress-rule-google-apis.yaml': (t, l) => {
    const r = (() => {
      const rc = compileAll(l.sidecar).routes.get('80');
      const vh = rc === undefined ? undefined : selectVirtualHost(rc, 'www.googleapis.com');
      return vh === undefined ? undefined : matchRoute(vh, { method: 'GET', path: '/', authority: 'www.googleapis.com', headerNames: [], headerValues: [] });
    })();
    t.same(r?.action.kind === 'forward' ? (r.action as ForwardActionRt).clusters.map((c) => c.name) : [], ['outbound|443||www.googleapis.com'], 'port 80 is sent to 443');
    const c443 = l.sidecar.clusters.find((c) => c.name === 'outbound|443||www.googleapis.com') as { type?: string; transport_socket?: unknown } | undefined;
    t.equal(c443?.type, 'STRICT_DNS', 'resolution DNS');
    t.match(JSON.stringify(c443?.transport_socket), /"sni":"www\.googleapis\.com"/, 'TLS originated (SIMPLE) with the host as SNI');
  },
  'fault-injection-details-v1.yaml': (t, l) => {
    const r = l.at('details', '/details/0');
    t.same(r.clusters, { [subset('details', 'v1')]: 1 });
    t.equal(r.route?.fault?.abort?.httpStatus, 555);
    t.same(r.route?.fault?.abort?.percentage, { numerator: 1_000_000, denominator: 1_000_000 }, '100 %');
  },
  'virtual-service-all-v1.yaml': (t, l) => {
    for (const svc of ['productpage', 'reviews', 'ratings', 'details']) t.same(l.at(svc).clusters, { [subset(svc, 'v1')]: 1 }, svc);
  },
  'virtual-service-details-v2.yaml': (t, l) => t.same(l.at('details').clusters, { [subset('details', 'v2')]: 1 }),
  'virtual-service-ratings-db.yaml': (t, l) => {
    t.same(l.at('reviews').clusters, { [subset('reviews', 'v3')]: 1 });
    t.same(l.at('ratings').clusters, { [subset('ratings', 'v2')]: 1 });
  },
  'virtual-service-ratings-mysql.yaml': (t, l) => t.same(l.at('ratings').clusters, { [subset('ratings', 'v2-mysql')]: 1 }),
  'virtual-service-ratings-mysql-vm.yaml': (t, l) => t.same(l.at('ratings').clusters, { [subset('ratings', 'v2-mysql-vm')]: 1 }),
  'virtual-service-ratings-test-abort.yaml': (t, l) => {
    const jason = l.at('ratings', '/ratings/0', JASON);
    t.same(jason.clusters, { [subset('ratings', 'v1')]: 1 });
    t.equal(jason.route?.fault?.abort?.httpStatus, 500, 'jason: aborted with 500');
    t.equal(l.at('ratings').route?.fault, undefined, 'others: no fault');
  },
  'virtual-service-ratings-test-delay.yaml': (t, l) => {
    t.equal(l.at('ratings', '/ratings/0', JASON).route?.fault?.delay?.fixedMs, 7000, 'jason: 7 s delay');
    t.equal(l.at('ratings').route?.fault, undefined);
  },
  'virtual-service-reviews-50-v3.yaml': (t, l) => t.same(l.at('reviews').clusters, { [subset('reviews', 'v1')]: 50, [subset('reviews', 'v3')]: 50 }),
  'virtual-service-reviews-80-20.yaml': (t, l) => t.same(l.at('reviews').clusters, { [subset('reviews', 'v1')]: 80, [subset('reviews', 'v2')]: 20 }),
  'virtual-service-reviews-90-10.yaml': (t, l) => t.same(l.at('reviews').clusters, { [subset('reviews', 'v1')]: 90, [subset('reviews', 'v2')]: 10 }),
  'virtual-service-reviews-jason-v2-v3.yaml': (t, l) => {
    t.same(l.at('reviews', '/', JASON).clusters, { [subset('reviews', 'v2')]: 1 });
    t.same(l.at('reviews').clusters, { [subset('reviews', 'v3')]: 1 });
  },
  'virtual-service-reviews-test-v2.yaml': (t, l) => {
    t.same(l.at('reviews', '/', JASON).clusters, { [subset('reviews', 'v2')]: 1 });
    t.same(l.at('reviews').clusters, { [subset('reviews', 'v1')]: 1 });
  },
  'virtual-service-reviews-v2-v3.yaml': (t, l) => t.same(l.at('reviews').clusters, { [subset('reviews', 'v2')]: 50, [subset('reviews', 'v3')]: 50 }),
  'virtual-service-reviews-v3.yaml': (t, l) => t.same(l.at('reviews').clusters, { [subset('reviews', 'v3')]: 1 }),
};

t.test('every Bookinfo networking file is honoured: requests replayed through the compiled routes', { skip: bookinfoSkip(t) }, async (t) => {
  const files = fs.readdirSync(NET).filter((f) => f.endsWith('.yaml')).sort();
  t.same(files.filter((f) => checks[f] === undefined), [], 'a check for every file');
  for (const f of files) {
    await t.test(f, async (t) => {
      const l = load([f]);
      t.same(l.issues.filter((i) => !i.startsWith('Deployment')), [], 'loads without issues');
      t.same(l.errors, [], 'compiles with the proxy\'s compiler');
      const allowed = (w: string): boolean => f === 'certmanager-gateway.yaml' && /cert-manager-resolver/.test(w);
      t.same(l.warnings.filter((w) => !allowed(w)), [], 'no warning');
      checks[f](t, l);
    });
  }
});
