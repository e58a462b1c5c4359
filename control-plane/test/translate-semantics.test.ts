/**
 * Points of Istio's semantics a reviewer checked against Istio's source: how `retries`
 * without attempts, a destination's Host header and port-level traffic policies translate.
 */
import t from 'tap';
import type { generateForProxy } from '../src/index.js';
import { generateFromYaml } from './helpers/generate-yaml.js';
import { compileAll } from './helpers/compile.js';

const base = `
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop }
spec:
  clusterIP: 10.96.1.1
  selector: { app: api }
  ports: [{ name: http, port: 8080 }, { name: http-admin, port: 9090 }]
---
apiVersion: v1
kind: Pod
metadata: { name: api-1, namespace: shop, labels: { app: api, version: v1 } }
spec: { containers: [{ name: api, ports: [{ containerPort: 8080 }, { containerPort: 9090 }] }] }
status: { podIP: 10.10.0.5, phase: Running, conditions: [{ type: Ready, status: "True" }] }
`;

function generate(extra: string) {
  const { res, issues } = generateFromYaml(base + '---\n' + extra);
  return { res, issues, text: JSON.stringify(res) };
}

function firstRoute(res: ReturnType<typeof generateForProxy>, port: string): Record<string, unknown> {
  const rc = res.routes.find((r) => r.name === port) as { virtual_hosts: { name: string; routes: Record<string, unknown>[] }[] };
  const vh = rc.virtual_hosts.find((v) => v.name.startsWith('api.shop'))!;
  return vh.routes[0];
}

t.test('retries without attempts turn retries off (Istio ConvertPolicy)', async (t) => {
  const { res, issues } = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - retries: { retryOn: 5xx }
    route: [{ destination: { host: api } }]
`);
  t.same(issues, []);
  const route = firstRoute(res, '8080').route as Record<string, unknown>;
  t.equal(route.retry_policy, undefined, 'no retry policy');
  t.same(compileAll(res).errors, []);
});

t.test('retries with attempts keep them; no retries block gives Istio\'s default policy', async (t) => {
  const { res } = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - retries: { attempts: 3, retryOn: 5xx }
    route: [{ destination: { host: api } }]
`);
  const rp = (firstRoute(res, '8080').route as Record<string, unknown>).retry_policy as Record<string, unknown>;
  t.equal(rp.num_retries, 3);
  t.equal(rp.retry_on, '5xx');
  const plain = generate('');
  const dp = (firstRoute(plain.res, '8080').route as Record<string, unknown>).retry_policy as Record<string, unknown>;
  t.equal(dp.num_retries, 2, 'default: 2 retries');
});

t.test('a destination\'s Host header is an authority rewrite, for one destination and per weighted cluster', async (t) => {
  const one = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - route:
    - destination: { host: api }
      headers: { request: { set: { host: backend.example, x-a: "1" } } }
`);
  const r1 = firstRoute(one.res, '8080');
  t.equal((r1.route as Record<string, unknown>).host_rewrite_literal, 'backend.example');
  t.notMatch(JSON.stringify(r1.request_headers_to_add ?? []), /"host"/, 'no host header mutation');
  t.match(JSON.stringify(r1.request_headers_to_add), /x-a/, 'other headers kept');
  t.same(compileAll(one.res).errors, [], 'compiles');
  const split = generate(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: shop }
spec:
  host: api
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - route:
    - destination: { host: api, subset: v1 }
      weight: 50
      headers: { request: { set: { ":authority": v1.example } } }
    - destination: { host: api, subset: v2 }
      weight: 50
`);
  const wcs = ((firstRoute(split.res, '8080').route as Record<string, unknown>).weighted_clusters as { clusters: Record<string, unknown>[] }).clusters;
  t.equal(wcs[0].host_rewrite_literal, 'v1.example', 'the v1 weight rewrites the authority');
  t.equal(wcs[1].host_rewrite_literal, undefined, 'the v2 weight does not');
  t.same(compileAll(split.res).errors, [], 'the proxy compiles per-cluster host rewrites');
});

t.test('port-level traffic policy replaces the top-level sections (no inheritance)', async (t) => {
  const { res } = generate(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: shop }
spec:
  host: api
  trafficPolicy:
    connectionPool: { tcp: { maxConnections: 1 } }
    portLevelSettings:
    - port: { number: 9090 }
      loadBalancer: { simple: ROUND_ROBIN }
`);
  const cluster = (port: number) => res.clusters.find((c) => c.name === `outbound|${port}||api.shop.svc.cluster.local`) as { circuit_breakers: { thresholds: { max_connections: number }[] }; lb_policy: string };
  t.equal(cluster(8080).circuit_breakers.thresholds[0].max_connections, 1, 'port 8080 takes the top-level connection pool');
  t.equal(cluster(9090).circuit_breakers.thresholds[0].max_connections, 4294967295, 'port 9090 does not inherit it');
  t.equal(cluster(9090).lb_policy, 'ROUND_ROBIN');
});

t.test('a DestinationRule applies from the proxy\'s namespace, the service\'s or the root namespace only', async (t) => {
  const dr = (ns: string): string => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api-${ns}, namespace: ${ns} }
spec:
  host: api.shop.svc.cluster.local
  trafficPolicy: { loadBalancer: { simple: RANDOM } }
`;
  const lb = (extra: string): string => {
    const { res } = generate(extra);
    return (res.clusters.find((c) => c.name === 'outbound|8080||api.shop.svc.cluster.local') as { lb_policy: string }).lb_policy;
  };
  t.equal(lb(dr('elsewhere')), 'LEAST_REQUEST', 'a rule in an unrelated namespace does not apply (Istio\'s default balancer)');
  t.equal(lb(dr('istio-system')), 'RANDOM', 'the root namespace applies');
  t.equal(lb(dr('shop')), 'RANDOM', 'the proxy\'s (and the service\'s) namespace applies');
});

t.test('mirrors: one request_mirror_policy per entry, unset percentage is 100 %; the proxy takes them', async (t) => {
  const { res, issues } = generate(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - route: [{ destination: { host: api, port: { number: 8080 } } }]
    mirrors:
    - destination: { host: api, port: { number: 9090 } }
      percentage: { value: 25 }
    - destination: { host: api, port: { number: 8080 } }
`);
  t.same(issues, []);
  const route = firstRoute(res, '8080') as { route: { request_mirror_policies: unknown[] } };
  t.same(route.route.request_mirror_policies, [
    { cluster: 'outbound|9090||api.shop.svc.cluster.local', runtime_fraction: { default_value: { numerator: 250000, denominator: 'MILLION' } } },
    { cluster: 'outbound|8080||api.shop.svc.cluster.local', runtime_fraction: { default_value: { numerator: 1000000, denominator: 'MILLION' } } },
  ]);
  t.same(compileAll(res).errors, [], 'compiles for the proxy');
});

t.test('consistentHash: RING_HASH or MAGLEV on the cluster, the hash policy on every route to it', async (t) => {
  const dr = (lb: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: shop }
spec:
  host: api
  trafficPolicy: { loadBalancer: { consistentHash: ${lb} } }
`;
  const cluster = (res: ReturnType<typeof generate>['res'], name: string): Record<string, unknown> => res.clusters.find((c) => c.name === name) as Record<string, unknown>;
  const ring = generate(dr('{ httpCookie: { name: user, ttl: 0s, path: / } }'));
  t.same(ring.issues, []);
  t.equal(cluster(ring.res, 'outbound|8080||api.shop.svc.cluster.local').lb_policy, 'RING_HASH');
  t.same(cluster(ring.res, 'outbound|8080||api.shop.svc.cluster.local').ring_hash_lb_config, { minimum_ring_size: 1024 });
  t.same((firstRoute(ring.res, '8080') as { route: { hash_policy: unknown } }).route.hash_policy, [{ cookie: { name: 'user', path: '/', ttl: '0s' } }], 'the default route hashes too');
  const mag = generate(dr('{ httpHeaderName: x-user, maglev: { tableSize: 1021 } }') + `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http: [{ route: [{ destination: { host: api, port: { number: 8080 } } }] }]
`);
  t.same(mag.issues, []);
  t.equal(cluster(mag.res, 'outbound|8080||api.shop.svc.cluster.local').lb_policy, 'MAGLEV');
  t.same(cluster(mag.res, 'outbound|8080||api.shop.svc.cluster.local').maglev_lb_config, { table_size: 1021 });
  t.same((firstRoute(mag.res, '8080') as { route: { hash_policy: unknown } }).route.hash_policy, [{ header: { header_name: 'x-user' } }]);
  t.same(compileAll(ring.res).errors, [], 'the proxy takes them');
  t.same(compileAll(mag.res).errors, []);
  const bad = generate(dr('{ httpHeaderName: x-user, useSourceIp: true }'));
  t.match(JSON.stringify(bad.issues), /exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName is required \(got httpHeaderName, useSourceIp\)/);
});
