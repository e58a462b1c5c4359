/** compileXdsSnapshot / linkXdsConfig: RDS names, EDS assignments, cluster references, by resource. */
import t from 'tap';
import { packAny, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import { compileBootstrap, compileXdsSnapshot, formatConfigErrors } from '../src/index.js';

const hcm = (extra: object) =>
  packAny(TYPE_URL.HttpConnectionManager, { stat_prefix: 's', http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.Router, {}) }], ...extra });
const listener = (name: string, port: number, h: object) =>
  ({ name, address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm(h) }] }] }) as unknown as Listener;
const rds = (name: string, cs: object = { ads: {} }) => ({ rds: { route_config_name: name, config_source: cs } });
const routes = (name: string, cluster: string) => ({ name, virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] }) as unknown as RouteConfiguration;
const eds = (name: string, service?: string) => ({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, ...(service ? { service_name: service } : {}) } }) as unknown as Cluster;
const cla = (name: string, port: number) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } }] }] }) as unknown as ClusterLoadAssignment;

t.test('RDS and EDS are resolved', async (t) => {
  const r = compileXdsSnapshot({ listeners: [listener('l', 80, rds('80'))], routes: [routes('80', 'c')], clusters: [eds('c', 'svc')], endpoints: [cla('svc', 8080)] }, { version: 'v1' });
  t.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors));
  if (!r.ok) return;
  t.equal(r.value.version, 'v1');
  t.equal(r.value.listeners[0].hcm!.routeConfig.name, '80');
  t.equal(r.value.listeners[0].hcm!.routeConfig.virtualHosts.length, 1);
  t.same(r.value.clusters.get('c')?.endpoints.map((e) => e.port), [8080]);
});

t.test('what is missing is named by resource and field', async (t) => {
  const r = compileXdsSnapshot({ listeners: [listener('l', 80, rds('80')), listener('m', 81, rds('81'))], routes: [routes('81', 'nope')], clusters: [eds('c')], endpoints: [] });
  t.notOk(r.ok);
  if (r.ok) return;
  t.same(formatConfigErrors(r.errors).split('\n').sort(), [
    'cluster c: eds_cluster_config: no ClusterLoadAssignment "c" (EDS)',
    'listener l: filter_chains[0].filters[0].typed_config.rds.route_config_name: no RouteConfiguration "80" (RDS)',
    'route 81: virtual_hosts[0].routes[0].route.cluster: unknown cluster "nope"',
  ]);
});

t.test('invalid resources are reported with their name; only ADS config sources', async (t) => {
  const r = compileXdsSnapshot({ listeners: [listener('l', 80, rds('80', { path: '/x' }))], routes: [], clusters: [], endpoints: [] });
  t.notOk(r.ok);
  if (!r.ok) t.match(formatConfigErrors(r.errors), /^listener l: filter_chains\[0\]\.filters\[0\]\.typed_config\.rds\.config_source/m);
});

t.test('two listeners on one address are refused', async (t) => {
  const r = compileXdsSnapshot({ listeners: [listener('a', 80, rds('r')), listener('b', 80, rds('r'))], routes: [routes('r', 'c')], clusters: [eds('c')], endpoints: [cla('c', 1)] });
  t.notOk(r.ok);
  if (!r.ok) t.match(formatConfigErrors(r.errors), /listener b: address: 127\.0\.0\.1:80 is already used by listener "a"/);
});

t.test('a bootstrap may not use rds', async (t) => {
  const r = compileBootstrap({ static_resources: { listeners: [listener('l', 80, rds('80'))] } } as never);
  t.notOk(r.ok);
  if (!r.ok) t.match(formatConfigErrors(r.errors), /rds needs dynamic_resources/);
});
