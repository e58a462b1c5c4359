/** XdsClient against XdsServer over real gRPC: apply + ACK, NACK keeps the last good, reuse, reconnect. */
import t from 'tap';
import { once } from 'node:events';
import type { RuntimeConfig } from '@minimesh/config';
import { XdsClient } from '../src/client/xds-client.js';
import { SnapshotCache } from '../src/server/snapshot-cache.js';
import { XdsServer } from '../src/server/xds-server.js';
import { syncState } from '../src/server/sync-status.js';
import { CDS, EDS, LDS, RDS } from '../src/type-urls.js';
import { edsCluster, endpoints, listener, routeConfig, simpleSnapshot } from './helpers/resources.js';

const NODE = 'sidecar~127.0.0.1~c.default~default.svc.cluster.local';
type TL = { teardown(fn: () => unknown): void };

async function startServer(t: TL, port = 0) {
  const cache = new SnapshotCache();
  const server = new XdsServer({ cache });
  const bound = await server.listen('127.0.0.1', port);
  t.teardown(() => server.close(100));
  return { cache, server, port: bound };
}

function startClient(t: TL, port: number) {
  const configs: RuntimeConfig[] = [];
  const client = new XdsClient({ server: `127.0.0.1:${port}`, node: { id: NODE, cluster: 'c.default', metadata: { NAMESPACE: 'default', LABELS: { istio: 'ingressgateway' } } }, onConfig: ({ config }) => void configs.push(config), backoff: { initialMs: 50, maxMs: 200 } });
  client.start();
  t.teardown(() => client.close());
  return { client, configs };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const synced = (server: XdsServer, version: string, types = [CDS, EDS, LDS, RDS]) => () => {
  const st = server.syncStatus()[0];
  return st !== undefined && types.every((ty) => st.types[ty]?.ackedVersion === version && syncState(st.types[ty]) === 'SYNCED');
};

t.test('a complete config is applied once, then ACKed for every type', async (t) => {
  const { cache, server, port } = await startServer(t);
  cache.setSnapshot(NODE, simpleSnapshot('v1', 0, 'c', [1111]));
  const { client, configs } = startClient(t, port);
  await until(synced(server, 'v1'));
  t.equal(configs.length, 1, 'one config, with everything resolved');
  const cfg = configs[0];
  t.equal(cfg.listeners[0].hcm!.routeConfig.name, 'r');
  t.equal(cfg.listeners[0].hcm!.routeConfig.virtualHosts.length, 1);
  t.same(cfg.clusters.get('c')?.endpoints.map((e) => e.port), [1111]);
  t.same(client.versions(), { [CDS]: 'v1', [EDS]: 'v1', [LDS]: 'v1', [RDS]: 'v1' });
  t.equal(server.syncStatus()[0].nodeId, NODE);
  t.equal(server.syncStatus()[0].cluster, 'c.default');
  t.same(server.syncStatus()[0].metadata, { NAMESPACE: 'default', LABELS: { istio: 'ingressgateway' } }, 'node metadata reaches the server (gateway selection needs LABELS)');
});

t.test('an invalid route is NACKed with a path-prefixed reason; the last good config stays', async (t) => {
  const { cache, server, port } = await startServer(t);
  cache.setSnapshot(NODE, simpleSnapshot('v1', 0, 'c', [1111]));
  const { client, configs } = startClient(t, port);
  await until(synced(server, 'v1'));
  const bad = simpleSnapshot('v2', 0, 'c', [1111]);
  cache.setSnapshot(NODE, {
    ...bad,
    routes: [{ name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }, { match: { safe_regex: { regex: '(' } }, route: { cluster: 'c' } }] }] } as never],
  });
  const [type, message] = (await once(client, 'nack')) as [string, string];
  t.equal(type, RDS);
  t.match(message, /^route r: virtual_hosts\[0\]\.routes\[1\]\.match\.safe_regex/);
  await until(() => server.syncStatus()[0].types[RDS]?.lastNack !== undefined);
  const st = server.syncStatus()[0].types[RDS]!;
  t.equal(st.lastNack?.version, 'v2');
  t.match(st.lastNack?.message, /routes\[1\]/);
  t.equal(st.ackedVersion, 'v1', 'the NACK carries the version still held');
  t.equal(configs.length, 1, 'nothing new applied');
  t.equal(client.versions()[RDS], 'v1');
});

t.test('compiled clusters are reused when their bytes did not change', async (t) => {
  const { cache, server, port } = await startServer(t);
  const base = simpleSnapshot('v1', 0, 'c', [1111]);
  cache.setSnapshot(NODE, { ...base, clusters: [...base.clusters!, edsCluster('d')], endpoints: [...base.endpoints!, endpoints('d', [2222])] });
  const { configs } = startClient(t, port);
  await until(synced(server, 'v1'));
  // v2: d's endpoints change, c untouched, a route for d added.
  cache.setSnapshot(NODE, {
    version: 'v2',
    listeners: base.listeners,
    routes: [routeConfig('r', [['/d', 'd'], ['/', 'c']])],
    clusters: [...base.clusters!, edsCluster('d')],
    endpoints: [...base.endpoints!, endpoints('d', [2223])],
  });
  await until(() => configs.length >= 2 && configs.at(-1)!.listeners[0].hcm!.routeConfig.virtualHosts[0].routes.length === 2);
  const [a, b] = [configs[0], configs.at(-1)!];
  t.equal(b.clusters.get('c'), a.clusters.get('c'), 'cluster c: same object, pools kept');
  t.not(b.clusters.get('d'), a.clusters.get('d'), 'cluster d: new endpoints');
  t.same(b.clusters.get('d')?.endpoints.map((e) => e.port), [2223]);
  // v3: cluster d removed (and its route): gone from the config.
  cache.setSnapshot(NODE, { ...simpleSnapshot('v3', 0, 'c', [1111]) });
  await until(() => !configs.at(-1)!.clusters.has('d'));
  t.equal(configs.at(-1)!.clusters.get('c'), a.clusters.get('c'));
});

t.test('listeners wait for the clusters they route to (make before break)', async (t) => {
  const { cache, server, port } = await startServer(t);
  cache.setSnapshot(NODE, simpleSnapshot('v1', 0, 'c', [1111]));
  const { configs } = startClient(t, port);
  await until(synced(server, 'v1'));
  // v2 moves traffic to a new cluster n: CDS/EDS arrive first and are applied with the
  // old routes (c is still there), then the routes switch.
  cache.setSnapshot(NODE, {
    version: 'v2',
    listeners: [listener('http', 0, 'r')],
    routes: [routeConfig('r', [['/', 'n']])],
    clusters: [edsCluster('n')],
    endpoints: [endpoints('n', [3333])],
  });
  await until(synced(server, 'v2', [CDS, EDS, RDS])); // the listener did not change: LDS keeps v1
  for (const cfg of configs) {
    for (const vh of cfg.listeners[0].hcm!.routeConfig.virtualHosts) {
      for (const r of vh.routes) if (r.action.kind === 'forward') t.ok(cfg.clusters.has(r.action.clusters[0].name), `config ${cfg.version}: route target exists`);
    }
  }
  t.ok(configs.at(-1)!.clusters.has('n'));
  t.notOk(configs.at(-1)!.clusters.has('c'), 'the old cluster is gone at the end');
});

t.test('reconnects after the server restarts and tells it the versions it holds', async (t) => {
  const first = await startServer(t);
  first.cache.setSnapshot(NODE, simpleSnapshot('v1', 0, 'c', [1111]));
  const { client, configs } = startClient(t, first.port);
  await until(synced(first.server, 'v1'));
  const gone = once(client, 'disconnected');
  await first.server.close(50);
  await gone;
  const second = await startServer(t, first.port);
  // Before any snapshot on the new server, the client has already reported what it holds.
  await until(() => second.server.syncStatus()[0]?.types[LDS]?.ackedVersion === 'v1');
  t.equal(second.server.syncStatus()[0].types[CDS]?.ackedVersion, 'v1');
  second.cache.setSnapshot(NODE, simpleSnapshot('v2', 0, 'c', [1112]));
  await until(synced(second.server, 'v2'));
  t.same(configs.at(-1)!.clusters.get('c')?.endpoints.map((e) => e.port), [1112]);
});
