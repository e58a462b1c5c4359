/**
 * Istio's four Bookinfo traffic tasks, as examples/tasks/{request-routing,fault-injection,
 * traffic-shifting,request-timeouts} run them, end to end in the local mesh: the example's
 * Bookinfo apps (real processes) behind in-process sidecars, the example's YAML applied step by
 * step, each step's behaviour seen on the product page through a `sleep` sidecar. One mesh for
 * the four tasks, in the order a reader would do them (each task starts from its own YAML).
 * The example's YAML is also compared with Istio's Bookinfo files (fixture-skip helper).
 */
import t from 'tap';
import path from 'node:path';
import { log } from '@minimesh/proxy/log';
import { SHARED_TESTDATA, fixtureSkip } from '@minimesh/mesh/fixture-skip';
import { httpGet } from './helpers/local-mesh.js';
import { EXAMPLE, NETWORKING, PRODUCTPAGE_URL, REPO_ROOT, SLEEP, podNamed, resourcesOf, startBookinfoMesh, subsetCluster, summarize, tally } from './helpers/bookinfo-mesh.js';

log.level = 'warn';
const net = (name: string): string => path.join(NETWORKING, `${name}.yaml`);
const TIMEOUTS = path.join(REPO_ROOT, 'examples', 'tasks', 'request-timeouts', 'k8s');
const productpage = podNamed('productpage-v1');
const reviewsV2 = podNamed('reviews-v2');

t.test('the Bookinfo traffic tasks in the local mesh', async (t) => {
  const m = await startBookinfoMesh(t);

  await t.test('request routing: all-v1, then jason to reviews v2', async (t) => {
    m.apply(net('virtual-service-all-v1'));
    await m.untilRoutes(productpage, [subsetCluster('reviews', 'v1'), subsetCluster('details', 'v1'), subsetCluster('ratings', 'v1')], ['"outbound|9080||reviews.default.svc.cluster.local"']);
    t.same(await tally(m, 20), { 'v1 no stars': 20 }, 'virtual-service-all-v1: 20 requests, all to reviews v1');
    m.apply(net('virtual-service-reviews-test-v2'));
    await m.untilRoutes(productpage, ['jason', subsetCluster('reviews', 'v2')]);
    t.same(await tally(m, 10, 'jason'), { 'v2 black stars': 10 }, 'jason: reviews v2, black stars');
    t.same(await tally(m, 10), { 'v1 no stars': 10 }, 'no user: reviews v1');
    t.same(await tally(m, 5, 'alice'), { 'v1 no stars': 5 }, 'another user: reviews v1');
    const cookie = await httpGet(SLEEP.ip, 15001, PRODUCTPAGE_URL, { host: 'productpage:9080', cookie: 'user=jason' });
    t.equal(summarize(cookie.body), 'v2 black stars', 'jason signed in by cookie: productpage sends end-user: jason');
  });

  await t.test('fault injection: abort for jason, then the 7 s delay that productpage cannot wait for', async (t) => {
    m.apply(net('virtual-service-ratings-test-abort'));
    await m.untilRoutes(reviewsV2, ['jason', 'http_status'], ['fixed_delay']);
    t.same(await tally(m, 5, 'jason'), { 'v2 ratings unavailable': 5 }, 'jason: "Ratings service is currently unavailable"');
    t.same(await tally(m, 5), { 'v1 no stars': 5 }, 'everyone else: unaffected');

    m.apply(net('virtual-service-ratings-test-delay'));
    await m.untilRoutes(reviewsV2, ['jason', 'fixed_delay'], ['http_status']);
    const slow = await m.page('jason');
    t.equal(summarize(slow.body), 'reviews unavailable', 'jason: "Sorry, product reviews are currently unavailable for this book."');
    // productpage gives up after two tries of 3 s (the text above shows it did not wait for the 7 s).
    t.ok(slow.ms >= 5500, `the page took two 3 s tries (${slow.ms.toFixed(0)} ms)`);
    const other = await m.page();
    t.equal(summarize(other.body), 'v1 no stars');
    t.ok(other.ms < 2000, `everyone else: no delay (${other.ms.toFixed(0)} ms)`);
  });

  await t.test('traffic shifting: all-v1, 50/50 v1 and v3, then v3 only', async (t) => {
    m.apply(net('virtual-service-all-v1'));
    await m.untilRoutes(productpage, [subsetCluster('reviews', 'v1')], ['jason']);
    m.apply(net('virtual-service-reviews-50-v3'));
    await m.untilRoutes(productpage, [subsetCluster('reviews', 'v1'), subsetCluster('reviews', 'v3'), 'weighted_clusters']);
    const counts = await tally(m, 100);
    const v1 = counts['v1 no stars'] ?? 0;
    const v3 = counts['v3 red stars'] ?? 0;
    t.equal(v1 + v3, 100, `only v1 and v3 answer (${JSON.stringify(counts)})`);
    // Binomial(100, 0.5): mean 50, sd 5; [30, 70] is 4 sd either side.
    t.ok(v1 >= 30 && v1 <= 70, `about half to v1 (${v1}) and half to v3 (${v3})`);
    m.apply(net('virtual-service-reviews-v3'));
    await m.untilRoutes(productpage, [subsetCluster('reviews', 'v3')], [subsetCluster('reviews', 'v1'), 'weighted_clusters']);
    t.same(await tally(m, 20), { 'v3 red stars': 20 }, 'virtual-service-reviews-v3: all to v3, red stars');
  });

  await t.test('request timeouts: a 2 s delay to ratings, then a 0.5 s timeout on reviews', async (t) => {
    m.apply(path.join(TIMEOUTS, 'virtual-service-reviews-v2.yaml'));
    await m.untilRoutes(productpage, [subsetCluster('reviews', 'v2')], [subsetCluster('reviews', 'v3')]);
    m.apply(path.join(TIMEOUTS, 'virtual-service-ratings-delay-2s.yaml'));
    await m.untilRoutes(reviewsV2, ['fixed_delay', '"2s"']);
    const delayed = await m.page();
    t.equal(summarize(delayed.body), 'v2 black stars', 'the page works, with stars');
    t.ok(delayed.ms >= 2000, `but takes at least 2 s (${delayed.ms.toFixed(0)} ms)`);
    m.apply(path.join(TIMEOUTS, 'virtual-service-reviews-v2-timeout.yaml'));
    await m.untilRoutes(productpage, ['"timeout":"0.5', subsetCluster('reviews', 'v2')]); // 0.5 s, as protobuf JSON writes it
    const cut = await m.page();
    t.equal(summarize(cut.body), 'reviews unavailable', 'reviews times out: "Sorry, product reviews are currently unavailable for this book."');
    // Two tries of 0.5 s (productpage retries once): about 1 s, well under the 2 s delay.
    t.ok(cut.ms >= 900 && cut.ms < 2000, `the page comes back in about 1 s (${cut.ms.toFixed(0)} ms)`);
  });
});

const ISTIO_NETWORKING = path.join(SHARED_TESTDATA, 'istio', 'bookinfo', 'networking');
t.test("the example's networking YAML is Istio's Bookinfo YAML", { skip: fixtureSkip(t, ISTIO_NETWORKING, "Istio's Bookinfo networking files") }, async (t) => {
  const istio = ISTIO_NETWORKING;
  const files = ['destination-rule-all', 'virtual-service-all-v1', 'virtual-service-reviews-test-v2', 'virtual-service-ratings-test-delay', 'virtual-service-ratings-test-abort', 'virtual-service-reviews-50-v3', 'virtual-service-reviews-v3'];
  for (const f of files) t.same(resourcesOf(net(f)), resourcesOf(path.join(istio, `${f}.yaml`)), `${f}.yaml: same kinds, names, fields and values`);
});

t.test("the request timeouts task's YAML: reviews to v2, ratings delayed 2 s, reviews timeout 0.5 s", async (t) => {
  const vs = (host: string, http: unknown[]): unknown => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: host }, spec: { hosts: [host], http } });
  const v2 = { destination: { host: 'reviews', subset: 'v2' } };
  t.same(resourcesOf(path.join(TIMEOUTS, 'virtual-service-reviews-v2.yaml')), [vs('reviews', [{ route: [v2] }])]);
  t.same(resourcesOf(path.join(TIMEOUTS, 'virtual-service-ratings-delay-2s.yaml')), [vs('ratings', [{ fault: { delay: { percentage: { value: 100 }, fixedDelay: '2s' } }, route: [{ destination: { host: 'ratings', subset: 'v1' } }] }])]);
  t.same(resourcesOf(path.join(TIMEOUTS, 'virtual-service-reviews-v2-timeout.yaml')), [vs('reviews', [{ route: [v2], timeout: '0.5s' }])]);
});

const ISTIO_PLATFORM = path.join(SHARED_TESTDATA, 'istio', 'bookinfo', 'platform', 'bookinfo.yaml');
t.test("the example's Bookinfo: Istio's Services, service accounts and Deployments (labels app and version)", { skip: fixtureSkip(t, ISTIO_PLATFORM, "Istio's Bookinfo platform file") }, async (t) => {
  const istio = ISTIO_PLATFORM;
  type R = { kind: string; metadata: { name: string; labels?: unknown }; spec?: { ports?: { port: number; name: string }[]; selector?: unknown; template?: { metadata?: { labels?: unknown }; spec?: { serviceAccountName?: string } } } };
  const shape = (r: R): unknown => ({
    kind: r.kind,
    name: r.metadata.name,
    labels: r.metadata.labels,
    ports: r.spec?.ports?.map((p) => ({ port: p.port, name: p.name })),
    selector: r.spec?.selector,
    podLabels: r.spec?.template?.metadata?.labels,
    serviceAccount: r.spec?.template?.spec?.serviceAccountName,
  });
  const ours = (resourcesOf(path.join(EXAMPLE, 'k8s', 'bookinfo.yaml')) as unknown as R[]).map(shape);
  const theirs = (resourcesOf(istio) as unknown as R[]).map(shape);
  t.same(ours, theirs);
});
