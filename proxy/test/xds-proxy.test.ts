/**
 * The proxy in xDS mode against a real ADS server (@minimesh/xds) and upstreams on port 0:
 * readiness after the first config, /config_dump with versions, a bad push NACKed while
 * traffic keeps flowing on the last good config, a request in flight finishing on the
 * config it started with.
 */
import t from 'tap';
import http from 'node:http';
import { packAny, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import { SnapshotCache, XdsServer, syncState, type SnapshotInput } from '@minimesh/xds/server';
import { startProxy } from '../src/main.js';
import type { XdsModeOptions } from '../src/xds-mode.js';
import { ok, request, startUpstream, type TestLike } from './helpers/harness.js';

const NODE = 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local';
const RDS = TYPE_URL.RouteConfiguration;

function snapshot(version: string, routes: [string, string][], clusters: Record<string, number>, badRegex = false): SnapshotInput {
  const hcm = packAny(TYPE_URL.HttpConnectionManager, {
    stat_prefix: 'outbound_0',
    rds: { route_config_name: '80', config_source: { ads: {} } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.Router, {}) }],
  });
  const listener = { name: 'outbound_0', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] };
  const rts: object[] = routes.map(([prefix, cluster]) => ({ match: { prefix }, route: { cluster } }));
  if (badRegex) rts.push({ match: { safe_regex: { regex: '(unclosed' } }, route: { cluster: Object.keys(clusters)[0] } });
  return {
    version,
    listeners: [listener as unknown as Listener],
    routes: [{ name: '80', virtual_hosts: [{ name: 'all', domains: ['*'], routes: rts }] } as unknown as RouteConfiguration],
    clusters: Object.keys(clusters).map((name) => ({ name, type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: { ads: {} } } }) as unknown as Cluster),
    endpoints: Object.entries(clusters).map(([name, port]) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] }) as unknown as ClusterLoadAssignment),
  };
}

async function setup(t: TestLike) {
  const cache = new SnapshotCache();
  const server = new XdsServer({ cache });
  const xdsPort = await server.listen('127.0.0.1', 0);
  const xds: XdsModeOptions = {
    server: `127.0.0.1:${xdsPort}`,
    node: { id: NODE, cluster: 'app.default' },
    adminAddress: '127.0.0.1',
    adminPort: 0,
    healthAddress: '127.0.0.1',
    healthPort: 0,
    drainTimeMs: 200,
    backoff: { initialMs: 50, maxMs: 200 },
  };
  const running = await startProxy({ bootstrap: '', healthPort: 0, healthAddress: '127.0.0.1', drainTimeMs: 200, xds });
  t.teardown(async () => {
    await running.stop();
    await server.close(100);
  });
  const listenerPort = (): number => running.proxy.listeners.get('outbound_0')?.port ?? 0;
  return { cache, server, running, listenerPort };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

const synced = (server: XdsServer, type: string, version: string) => () => {
  const st = server.syncStatus()[0]?.types[type as typeof RDS];
  return st?.ackedVersion === version && syncState(st) === 'SYNCED';
};

t.test('not ready until the first config; then traffic flows and config_dump shows versions', async (t) => {
  const { cache, server, running, listenerPort } = await setup(t);
  const up = await startUpstream(t, ok('from-a'));
  t.equal((await get(running.healthPort!, '/healthz/ready')).status, 503, 'not ready without config');
  t.equal((await get(running.adminPort!, '/ready')).status, 503);
  cache.setSnapshot(NODE, snapshot('v1', [['/', 'a']], { a: up.port }));
  await until(synced(server, RDS, 'v1'));
  t.equal((await get(running.healthPort!, '/healthz/ready')).status, 200, 'ready');
  const r = await request(listenerPort(), { path: '/x' });
  t.equal(r.status, 200);
  t.equal(r.body, 'from-a');
  const dump = JSON.parse((await get(running.adminPort!, '/config_dump')).body) as { configs: Record<string, any>[] };
  const byType = (s: string) => dump.configs.find((c) => String(c['@type']).endsWith(s))!;
  t.equal(byType('BootstrapConfigDump').bootstrap.node.id, NODE);
  t.equal(byType('ListenersConfigDump').dynamic_listeners[0].name, 'outbound_0');
  t.equal(byType('ListenersConfigDump').dynamic_listeners[0].active_state.version_info, 'v1');
  t.equal(byType('ClustersConfigDump').dynamic_active_clusters[0].cluster.name, 'a');
  t.equal(byType('RoutesConfigDump').dynamic_route_configs[0].route_config.name, '80');
  t.equal(byType('EndpointsConfigDump').dynamic_endpoint_configs[0].endpoint_config.cluster_name, 'a');
});

t.test('an invalid route is NACKed; traffic keeps flowing on the last good config', async (t) => {
  const { cache, server, listenerPort } = await setup(t);
  const a = await startUpstream(t, ok('from-a'));
  const b = await startUpstream(t, ok('from-b'));
  cache.setSnapshot(NODE, snapshot('v1', [['/', 'a']], { a: a.port }));
  await until(synced(server, RDS, 'v1'));
  // v2 would move traffic to b, but one route has an invalid regex: the whole RDS is rejected.
  cache.setSnapshot(NODE, snapshot('v2', [['/', 'b']], { a: a.port, b: b.port }, true));
  await until(() => server.syncStatus()[0].types[RDS]?.lastNack !== undefined);
  const nack = server.syncStatus()[0].types[RDS]!.lastNack!;
  t.equal(nack.version, 'v2');
  t.match(nack.message, /^route 80: virtual_hosts\[0\]\.routes\[1\]\.match\.safe_regex/);
  for (let i = 0; i < 3; i++) {
    const r = await request(listenerPort(), { path: '/' });
    t.equal(r.body, 'from-a', 'still on v1');
  }
  // A good v3 is applied.
  cache.setSnapshot(NODE, snapshot('v3', [['/', 'b']], { a: a.port, b: b.port }));
  await until(synced(server, RDS, 'v3'));
  t.equal((await request(listenerPort(), { path: '/' })).body, 'from-b');
});

t.test('a request in flight when a new config arrives finishes on the old one', async (t) => {
  const { cache, server, listenerPort } = await setup(t);
  const slow = await startUpstream(t, ok('slow-old', {}, 400));
  const fresh = await startUpstream(t, ok('new'));
  cache.setSnapshot(NODE, snapshot('v1', [['/', 'old']], { old: slow.port }));
  await until(synced(server, RDS, 'v1'));
  const inFlight = request(listenerPort(), { path: '/' });
  await until(() => slow.requests.length === 1);
  // v2 removes cluster "old" entirely and routes everything to "new".
  cache.setSnapshot(NODE, snapshot('v2', [['/', 'new']], { new: fresh.port }));
  await until(synced(server, RDS, 'v2'));
  t.equal((await request(listenerPort(), { path: '/' })).body, 'new', 'new requests use v2');
  const r = await inFlight;
  t.equal(r.status, 200);
  t.equal(r.body, 'slow-old', 'the request in flight finished on v1 (its cluster drained, not cut)');
});
