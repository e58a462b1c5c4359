/** The ADS server over a real gRPC connection, driven by a hand-written client. */
import t from 'tap';
import { decodeResource, packAny, TYPE_URL, type Listener } from '@minimesh/api';
import { SnapshotCache } from '../src/server/snapshot-cache.js';
import { XdsServer } from '../src/server/xds-server.js';
import { syncState } from '../src/server/sync-status.js';
import { InconsistentSnapshotError } from '../src/server/consistency.js';
import { CDS, EDS, LDS, RDS } from '../src/type-urls.js';
import { edsCluster, endpoints, listener, routeConfig, simpleSnapshot } from './helpers/resources.js';
import { rawAds } from './helpers/raw-ads-client.js';

const NODE = 'sidecar~127.0.0.1~a.default~default.svc.cluster.local';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const cache = new SnapshotCache();
  const server = new XdsServer({ cache });
  const port = await server.listen('127.0.0.1', 0);
  const ads = rawAds(port, NODE);
  t.teardown(async () => {
    ads.close();
    await server.close(200);
  });
  return { cache, server, ads };
}

const names = (r: { type_url?: string; resources?: { type_url?: string; value?: Uint8Array }[] }) =>
  (r.resources ?? []).map((a) => {
    const o = decodeResource<{ name?: string; cluster_name?: string }>(a.type_url!, a.value!);
    return o.name ?? o.cluster_name;
  });

t.test('initial push in order CDS, EDS, LDS, RDS; ACKs recorded; only changed types pushed', async (t) => {
  const { cache, server, ads } = await setup(t);
  // Subscribed before any snapshot exists: nothing is sent until one is set.
  ads.send({ type_url: LDS });
  ads.send({ type_url: RDS, resource_names: ['r'] });
  ads.send({ type_url: CDS });
  ads.send({ type_url: EDS, resource_names: ['c'] });
  t.ok(await ads.quiet(100), 'no snapshot, no response');
  // All four subscriptions reached the server (on a loaded machine they may take longer than the quiet wait).
  const subscribed = (): boolean => [CDS, EDS, LDS, RDS].every((type) => server.syncStatus()[0]?.types[type] !== undefined);
  for (const end = Date.now() + 5000; !subscribed() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  t.ok(subscribed(), 'the four subscriptions arrived');
  cache.setSnapshot(NODE, simpleSnapshot('v1', 0, 'c', [1234]));
  const got = [await ads.next(), await ads.next(), await ads.next(), await ads.next()];
  t.same(got.map((r) => r.type_url), [CDS, EDS, LDS, RDS], 'clusters and endpoints before listeners and routes');
  t.same(got.map((r) => r.version_info), ['v1', 'v1', 'v1', 'v1']);
  t.same(got.map(names), [['c'], ['c'], ['http'], ['r']]);
  for (const r of got) ads.send({ type_url: r.type_url!, version_info: r.version_info, response_nonce: r.nonce, resource_names: r.type_url === RDS ? ['r'] : r.type_url === EDS ? ['c'] : [] });
  t.ok(await ads.quiet(100), 'ACKs get no response');
  const [st] = server.syncStatus();
  t.equal(st.nodeId, NODE);
  t.equal(st.cluster, 'test');
  for (const type of [CDS, EDS, LDS, RDS] as const) {
    t.equal(st.types[type]?.ackedVersion, 'v1');
    t.equal(syncState(st.types[type]), 'SYNCED');
  }
  // Only the endpoints change: only EDS is pushed, with the new version.
  cache.setSnapshot(NODE, simpleSnapshot('v2', 0, 'c', [1234, 1235]));
  const eds = await ads.next();
  t.equal(eds.type_url, EDS);
  t.equal(eds.version_info, 'v2');
  t.ok(await ads.quiet(100), 'nothing else was pushed');
  const st2 = server.syncStatus()[0];
  t.equal(st2.types[CDS]?.sentVersion, 'v1', 'CDS keeps its version');
  t.equal(syncState(st2.types[EDS]), 'STALE', 'sent, not ACKed yet');
});

t.test('NACK recorded with its reason; stale nonce ignored; removed cluster absent', async (t) => {
  const { cache, server, ads } = await setup(t);
  cache.setSnapshot(NODE, { version: 'v1', clusters: [edsCluster('a'), edsCluster('b')], endpoints: [endpoints('a', [1]), endpoints('b', [2])] });
  ads.send({ type_url: CDS });
  const r1 = await ads.next();
  t.same(names(r1), ['a', 'b']);
  ads.send({ type_url: CDS, version_info: '', response_nonce: r1.nonce, error_detail: { code: 3, message: 'cluster a: bad' } });
  t.ok(await ads.quiet(100), 'a NACK gets no response');
  let st = server.syncStatus()[0].types[CDS]!;
  t.match(st.lastNack, { version: 'v1', nonce: r1.nonce, message: 'cluster a: bad' });
  t.equal(syncState(st), 'NACKED');
  // A new snapshot without cluster b: removed by absence.
  cache.setSnapshot(NODE, { version: 'v2', clusters: [edsCluster('a')], endpoints: [endpoints('a', [1])] });
  const r2 = await ads.next();
  t.equal(r2.version_info, 'v2');
  t.same(names(r2), ['a']);
  // An ACK with the old nonce is stale: ignored, nothing recorded.
  ads.send({ type_url: CDS, version_info: 'v1', response_nonce: r1.nonce });
  t.ok(await ads.quiet(100));
  st = server.syncStatus()[0].types[CDS]!;
  t.equal(st.ackedVersion, undefined, 'the stale ACK was not recorded');
  ads.send({ type_url: CDS, version_info: 'v2', response_nonce: r2.nonce });
  await ads.quiet(50);
  st = server.syncStatus()[0].types[CDS]!;
  t.equal(st.ackedVersion, 'v2');
  t.equal(syncState(st), 'SYNCED');
});

t.test('RDS and EDS are sent by name; a resubscription is answered', async (t) => {
  const { cache, ads } = await setup(t);
  cache.setSnapshot(NODE, {
    version: 'v1',
    clusters: [edsCluster('a')],
    endpoints: [endpoints('a', [1])],
    listeners: [listener('l1', 0, 'r1'), listener('l2', 0, 'r2')],
    routes: [routeConfig('r1', [['/', 'a']]), routeConfig('r2', [['/', 'a']])],
  });
  ads.send({ type_url: RDS, resource_names: ['r1'] });
  const r1 = await ads.next();
  t.same(names(r1), ['r1']);
  ads.send({ type_url: RDS, resource_names: ['r1', 'r2'], version_info: 'v1', response_nonce: r1.nonce });
  const r2 = await ads.next();
  t.same(names(r2).sort(), ['r1', 'r2']);
});

t.test('an inconsistent snapshot is refused', async (t) => {
  const cache = new SnapshotCache();
  t.throws(() => cache.setSnapshot('n', { listeners: [listener('l', 0, 'missing')], clusters: [edsCluster('c')] }), InconsistentSnapshotError);
  try {
    cache.setSnapshot('n', { routes: [routeConfig('r', [['/', 'nope']])], clusters: [edsCluster('c')] });
  } catch (e) {
    t.match((e as Error).message, /route r: .*cluster "nope"/);
    t.match((e as Error).message, /cluster c: EDS cluster without a ClusterLoadAssignment/);
  }
  t.equal(cache.getSnapshot('n'), undefined);
  // A proxyless gRPC client's listener: the HCM is in api_listener, and is checked too.
  const apiListener = (rds: string) =>
    ({
      name: 'echo.test:50051',
      api_listener: { api_listener: packAny(TYPE_URL.HttpConnectionManager, { rds: { route_config_name: rds, config_source: { ads: {} } }, http_filters: [] }) },
    }) as unknown as Listener;
  t.throws(() => cache.setSnapshot('n', { listeners: [apiListener('missing')] }), /listener echo.test:50051: RDS route configuration "missing"/);
  t.ok(cache.setSnapshot('n', { listeners: [apiListener('r')], routes: [routeConfig('r', [])] }), 'an api_listener whose route config is there is accepted');
});

t.test('versions: unchanged types keep theirs; without a label the version is a digest', async (t) => {
  const cache = new SnapshotCache();
  const s1 = cache.setSnapshot('n', simpleSnapshot('v1', 1, 'c', [1]));
  const s2 = cache.setSnapshot('n', simpleSnapshot('v2', 1, 'c', [2]));
  t.equal(s2.version(CDS), 'v1');
  t.equal(s2.version(EDS), 'v2');
  const { version: _v, ...noLabel } = simpleSnapshot('x', 1, 'c', [1]);
  const d1 = cache.setSnapshot('m', noLabel);
  const d2 = cache.setSnapshot('m', { ...noLabel });
  t.equal(d1.version(LDS), d2.version(LDS));
  t.match(d1.version(LDS), /^[0-9a-f]{16}$/);
  t.not(s1.version(EDS), s2.version(EDS));
});
