/**
 * The Kubernetes source through the REAL transport (`clientNodeTransport`, i.e.
 * @kubernetes/client-node's KubernetesObjectApi for lists and its Watch for watches) against a
 * tiny fake API server on loopback speaking the real list/watch protocol over plain HTTP:
 *
 * - API discovery (`/api/v1`, `/apis/GROUP/VERSION` as APIResourceLists), which the client's
 *   `KubernetesObjectApi.list(apiVersion, kind)` reads to find a kind's plural;
 * - lists (`GET /api/v1/services`) with `metadata.resourceVersion`, items without kind/apiVersion
 *   as the API server sends built-in types;
 * - watches (`?watch=true&resourceVersion=N&allowWatchBookmarks=true`, `watch=1` accepted too):
 *   a chunked stream of JSON lines `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK","object":{…}}`,
 *   first the events after N, then live ones;
 * - a watch from a compacted (too old) resourceVersion gets HTTP 200 and one
 *   `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",…}}`, then the end
 *   of the stream, as the API server does.
 *
 * The client library talks to a plain-HTTP server without trouble once the kubeconfig's
 * cluster `server` is an `http://` URL (KubeConfig.loadFromOptions).
 */
import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { FakeApiServer, type Obj } from '@minimesh/kube-fake';
import type { KubeResource } from '@minimesh/kube';
import { buildMeshModel, clientNodeTransport, KubeSource, WATCHED_KINDS } from '../src/index.js';

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const service = (name: string, port: number, targetPort = 9080): Obj => ({
  metadata: { name, namespace: 'shop', creationTimestamp: '2024-05-01T10:00:00Z', labels: { app: name } },
  spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort }] },
});
const virtualService = (dest: string): Obj => ({
  metadata: { name: 'reviews', namespace: 'shop', creationTimestamp: '2024-05-01T10:00:00Z' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: dest } }] }] },
});

t.test('the Kubernetes source through @kubernetes/client-node against a list/watch API server', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  api.write('ADDED', 'Namespace', { metadata: { name: 'shop' } });
  api.write('ADDED', 'Service', service('reviews', 9080));
  api.write('ADDED', 'VirtualService', virtualService('reviews'));

  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${api.port}`, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'not-checked' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
    currentContext: 'fake',
  });
  const transport = await clientNodeTransport(kc);
  const changes: KubeResource[][] = [];
  const issues: string[] = [];
  const src = new KubeSource({
    transport,
    retryMs: 20,
    onChange: (rs) => changes.push(rs),
    onIssues: (is) => issues.push(...is.map((i) => `${i.kind} ${i.namespace}/${i.name}: ${i.field}: ${i.message}`)),
  });
  t.teardown(async () => {
    src.stop();
    await api.stop();
  });
  const names = (kind: string): string[] =>
    src
      .resources()
      .filter((r) => r.kind === kind)
      .map((r) => r.metadata.name)
      .sort();

  await src.start();
  const listRv = String(api.resourceVersion);
  t.same(issues, [], 'nothing reported for valid objects');

  // Lists first, then watches from the list's resourceVersion, for every kind the source reads.
  for (const k of WATCHED_KINDS) {
    const list = api.requests.findIndex((u) => u === k.path);
    t.ok(list >= 0, `${k.kind}: listed at ${k.path}`);
    await until(`${k.kind} watch`, () => api.openWatches(k.kind) === 1);
    const w = api.requests.find((u) => u.startsWith(`${k.path}?`) && new URL(u, 'http://x').searchParams.get('watch') === 'true');
    t.ok(w, `${k.kind}: watched`);
    const q = new URL(w!, 'http://x').searchParams;
    t.equal(q.get('resourceVersion'), listRv, `${k.kind}: the watch starts at the list's resourceVersion`);
    t.equal(q.get('allowWatchBookmarks'), 'true', `${k.kind}: bookmarks asked for`);
    t.ok(api.requests.indexOf(w!) > list, `${k.kind}: list before watch`);
  }
  t.same(names('Service'), ['reviews']);
  t.same(names('VirtualService'), ['reviews']);
  const svc = src.resources().find((r) => r.kind === 'Service')!;
  t.equal(svc.apiVersion, 'v1', 'list items without kind/apiVersion are typed by the source');
  // @kubernetes/client-node deserializes lists of built-in kinds into its classes (Date timestamps);
  // the transport hands the source plain JSON, as watch events are.
  t.equal((svc.metadata as { creationTimestamp?: unknown }).creationTimestamp, '2024-05-01T10:00:00Z', 'listed objects are the API server\'s JSON as sent (timestamps unchanged)');
  const model = buildMeshModel(changes.at(-1)!);
  t.ok(
    model.services.find((s) => s.hostname === 'reviews.shop.svc.cluster.local'),
    'the listed Service reaches the model',
  );

  // ADDED, MODIFIED, DELETED events reach the model.
  let n = changes.length;
  api.write('ADDED', 'Service', service('ratings', 9080));
  await until('ADDED applied', () => changes.length > n);
  t.ok(buildMeshModel(changes.at(-1)!).services.find((s) => s.hostname === 'ratings.shop.svc.cluster.local'), 'ADDED: ratings in the model');

  n = changes.length;
  api.write('MODIFIED', 'VirtualService', virtualService('ratings'));
  await until('MODIFIED applied', () => changes.length > n);
  const vs = changes.at(-1)!.find((r) => r.kind === 'VirtualService') as { spec: { http: { route: { destination: { host: string } }[] }[] } };
  t.equal(vs.spec.http[0].route[0].destination.host, 'ratings', 'MODIFIED: the new VirtualService spec');

  n = changes.length;
  api.write('DELETED', 'Service', service('ratings', 9080));
  await until('DELETED applied', () => changes.length > n);
  t.notOk(buildMeshModel(changes.at(-1)!).services.find((s) => s.name === 'ratings'), 'DELETED: ratings gone from the model');

  // An invalid object is reported (kind, namespace/name, field) and skipped; the last good one stays.
  n = changes.length;
  api.write('MODIFIED', 'Service', service('reviews', 99999));
  await until('the invalid Service is reported', () => issues.length > 0);
  t.same(issues, ['Service shop/reviews: spec.ports[0].port: must be an integer 1..65535']);
  t.equal(changes.length, n, 'no change pushed for the invalid version');
  t.equal((src.resources().find((r) => r.kind === 'Service' && r.metadata.name === 'reviews') as { spec: { ports: { port: number }[] } }).spec.ports[0].port, 9080, 'the last good Service keeps serving');

  // BOOKMARK moves the source's resourceVersion without changing anything: a Pod write moves the
  // cluster's resourceVersion, which the Service watch only learns from the bookmark.
  api.write('ADDED', 'Pod', { metadata: { name: 'somewhere-else', namespace: 'other' }, spec: { containers: [{ name: 'app', image: 'app' }] } });
  await until('the Pod seen', () => names('Pod').includes('somewhere-else'));
  const serviceRv = src.resourceVersion('Service');
  t.ok(Number(serviceRv) < api.resourceVersion, `before the bookmark the Service watch is at ${serviceRv}, the cluster at ${api.resourceVersion}`);
  n = changes.length;
  api.bookmark('Service');
  await until('bookmark seen', () => src.resourceVersion('Service') === String(api.resourceVersion));
  t.pass(`BOOKMARK: the Service watch is at resourceVersion ${api.resourceVersion}`);
  t.equal(changes.length, n, 'a bookmark changes no resource');

  // The server ends the watch: the source resumes from the last version seen (no relist).
  const rvBefore = src.resourceVersion('Service');
  const watchesBefore = api.requests.length;
  api.endWatches();
  await until('watches resumed', () => WATCHED_KINDS.every((k) => api.openWatches(k.kind) === 1));
  const resumed = api.requests.slice(watchesBefore).find((u) => u.startsWith('/api/v1/services?'));
  t.equal(new URL(resumed!, 'http://x').searchParams.get('resourceVersion'), rvBefore, 'resumed from the last resourceVersion seen');
  t.equal(src.listCount.get('Service'), 1, 'no relist on a clean end');

  // 410 Gone: the Service watch stalls (events written meanwhile are not delivered), history is
  // compacted, the server ends the watch. The resume from the old version gets an ERROR Status
  // 410; the source relists, sees what it missed, and watches from the new list's version.
  api.stalled.add('Service');
  api.write('ADDED', 'Service', service('details', 9080));
  api.write('DELETED', 'Service', service('reviews', 9080));
  // The other kinds' watches are kept current by bookmarks: they resume after the compaction.
  for (const k of WATCHED_KINDS) if (k.kind !== 'Service') api.bookmark(k.kind);
  await until('bookmarks seen', () => WATCHED_KINDS.every((k) => k.kind === 'Service' || src.resourceVersion(k.kind) === String(api.resourceVersion)));
  api.compact();
  const staleRv = src.resourceVersion('Service');
  t.ok(Number(staleRv) < api.resourceVersion, `the source is behind (at ${staleRv}, the server at ${api.resourceVersion})`);
  api.stalled.clear();
  n = changes.length;
  const before410 = api.requests.length;
  api.endWatches();
  await until('relisted after 410', () => src.listCount.get('Service') === 2 && api.openWatches('Service') === 1);
  const after = api.requests.slice(before410);
  const gone = after.find((u) => u.startsWith('/api/v1/services?'));
  t.equal(new URL(gone!, 'http://x').searchParams.get('resourceVersion'), staleRv, 'resumed from the old version first (answered 410 Gone)');
  t.equal(api.goneAnswers, 1, 'the server answered it with ERROR Status 410 (Expired)');
  t.ok(after.includes('/api/v1/services'), 'then relisted');
  const rewatch = after.filter((u) => u.startsWith('/api/v1/services?')).at(-1)!;
  t.equal(new URL(rewatch, 'http://x').searchParams.get('resourceVersion'), String(api.resourceVersion), "and watches from the new list's resourceVersion");
  await until('relist pushed', () => changes.length > n);
  t.same(names('Service'), ['details'], 'the relist is the truth: details added, reviews deleted while the watch was stalled');
  t.equal(src.listCount.get('VirtualService'), 1, 'kinds kept current by bookmarks resumed without relisting');
  const m = buildMeshModel(changes.at(-1)!);
  t.ok(m.services.find((s) => s.name === 'details') && !m.services.find((s) => s.name === 'reviews'), 'the model follows');
  t.same(issues, ['Service shop/reviews: spec.ports[0].port: must be an integer 1..65535'], 'no new issue');
});
