/**
 * Locality load balancing, translated: Nodes in three regions with topology labels, pods on
 * them (one moved by its `istio-locality` label), a client in us-east1-a. EDS groups the
 * endpoints by locality; with outlier detection in the DestinationRule the priorities follow
 * Istio (same zone 0, same region 1, elsewhere next; `failover` pushes an unnamed region
 * further down), `distribute` sets the locality weights, `failoverPriority` orders by labels,
 * and the proxy's own `node.locality` wins over its pod's. The proxy's compiler accepts all of it.
 */
import t from 'tap';
import { formatIssue } from '@minimesh/kube';
import { fromJsonData, TYPE_URL, type Cluster, type ClusterLoadAssignment } from '@minimesh/api';
import { compileCluster, compileLoadAssignment } from '@minimesh/config';
import { buildMeshModel, generateForProxy, loadManifests, parseMeshConfig, proxyIdentity, type MeshConfig } from '../src/index.js';
import { compileAll } from './helpers/compile.js';

const NODE = 'sidecar~10.0.0.2~sleep.default~default.svc.cluster.local';
const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

const node = (name: string, region: string, zone: string): string => `apiVersion: v1
kind: Node
metadata: { name: ${name}, labels: { topology.kubernetes.io/region: ${region}, topology.kubernetes.io/zone: ${zone} } }
---
`;
const pod = (name: string, ip: string, nodeName: string, labels = 'app: reviews'): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default, labels: { ${labels} } }
spec: { nodeName: ${nodeName}, containers: [{ name: app, ports: [{ containerPort: 9080 }] }] }
status: { podIP: ${ip}, phase: Running }
---
`;
const BASE =
  node('node-a', 'us-east1', 'us-east1-a') +
  node('node-b', 'us-east1', 'us-east1-b') +
  node('node-c', 'eu-west1', 'eu-west1-a') +
  node('node-d', 'ap-south1', 'ap-south1-a') +
  pod('sleep', '10.0.0.2', 'node-a', 'app: sleep') +
  pod('reviews-a', '10.0.0.11', 'node-a') +
  pod('reviews-b', '10.0.0.12', 'node-b') +
  // Runs on node-a, but its label places it in us-east1-b (Istio's override).
  pod('reviews-b2', '10.0.0.14', 'node-a', 'app: reviews, istio-locality: us-east1.us-east1-b') +
  pod('reviews-c', '10.0.0.13', 'node-c') +
  pod('reviews-d', '10.0.0.15', 'node-d') +
  `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec: { selector: { app: reviews }, ports: [{ name: http, port: 9080 }] }
---
`;

const dr = (trafficPolicy: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  trafficPolicy: ${trafficPolicy}
`;
const OD = 'outlierDetection: { consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s }';

type Group = { locality: Record<string, string>; priority?: number; load_balancing_weight: number; lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] };

function translate(yaml: string, nodeLocality?: { region?: string; zone?: string; sub_zone?: string }) {
  const loaded = loadManifests(BASE + yaml, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, {}, model, nodeLocality));
  const cla = res.endpoints.find((e) => e.cluster_name === CLUSTER) as { endpoints: Group[] };
  const cluster = res.clusters.find((c) => c.name === CLUSTER) as Record<string, any>;
  // zone -> [priority, weight, addresses]
  const byZone = Object.fromEntries(cla.endpoints.map((g) => [g.locality.zone ?? '', [g.priority ?? 0, g.load_balancing_weight, g.lb_endpoints.map((e) => e.endpoint.address.socket_address.address).sort()]]));
  return { issues: loaded.issues.map(formatIssue), res, cla, cluster, byZone, compiled: compileAll(res) };
}

t.test('outlier detection on: priorities by locality match with the proxy (us-east1-a)', async (t) => {
  const r = translate(dr(`{ ${OD} }`));
  t.same(r.issues, []);
  t.same(r.compiled.errors, []);
  t.same(r.byZone, {
    'us-east1-a': [0, 1, ['10.0.0.11']],
    'us-east1-b': [1, 2, ['10.0.0.12', '10.0.0.14']],
    'ap-south1-a': [2, 1, ['10.0.0.15']],
    'eu-west1-a': [2, 1, ['10.0.0.13']],
  });
  t.same(r.cla.endpoints.find((g) => g.locality.zone === 'us-east1-b')!.locality, { region: 'us-east1', zone: 'us-east1-b' });
  t.notOk(r.cluster.common_lb_config?.locality_weighted_lb_config, 'no localityLbSetting in the rule: no locality weighting');
  // The proxy's compiler: each endpoint carries its priority and locality.
  const p = fromJsonData<ClusterLoadAssignment>(TYPE_URL.ClusterLoadAssignment, r.cla as never);
  t.ok(p.ok);
  const eps = p.ok ? compileLoadAssignment(p.value) : undefined;
  t.ok(eps?.ok);
  const b = eps?.ok ? eps.value.find((e) => e.address === '10.0.0.12') : undefined;
  t.same([b?.priority, b?.locality, b?.localityWeight], [1, { region: 'us-east1', zone: 'us-east1-b', subZone: '' }, 2]);
});

t.test('without outlier detection: localities, but no failover priorities', async (t) => {
  const r = translate('');
  t.same(Object.values(r.byZone).map((v) => v[0]), [0, 0, 0, 0]);
  const none = translate(dr(`{ ${OD}, loadBalancer: { localityLbSetting: { enabled: false } } }`));
  t.same(Object.values(none.byZone).map((v) => v[0]), [0, 0, 0, 0], 'enabled: false turns it off');
  t.notOk(none.cluster.common_lb_config?.locality_weighted_lb_config);
});

t.test('failover: the named region comes before other regions', async (t) => {
  const r = translate(dr(`{ ${OD}, loadBalancer: { localityLbSetting: { failover: [{ from: us-east1, to: eu-west1 }] } } }`));
  t.same(r.compiled.errors, []);
  t.same(Object.fromEntries(Object.entries(r.byZone).map(([z, v]) => [z, v[0]])), { 'us-east1-a': 0, 'us-east1-b': 1, 'eu-west1-a': 2, 'ap-south1-a': 3 });
  t.same(r.cluster.common_lb_config.locality_weighted_lb_config, {});
  t.same(r.cluster.common_lb_config.healthy_panic_threshold, { value: 0 });
});

t.test('distribute: locality weights for proxies in the from locality; other localities left out', async (t) => {
  const r = translate(dr(`{ loadBalancer: { localityLbSetting: { distribute: [{ from: "us-east1/us-east1-a/*", to: { "us-east1/us-east1-a/*": 80, "us-east1/us-east1-b/*": 20 } }] } } }`));
  t.same(r.issues, []);
  t.same(r.compiled.errors, []);
  t.same(r.byZone, { 'us-east1-a': [0, 80, ['10.0.0.11']], 'us-east1-b': [0, 20, ['10.0.0.12', '10.0.0.14']] });
  t.same(r.cluster.common_lb_config, { locality_weighted_lb_config: {} });
  const other = translate(dr(`{ loadBalancer: { localityLbSetting: { distribute: [{ from: "eu-west1/*", to: { "eu-west1/*": 100 } }] } } }`));
  t.equal(Object.keys(other.byZone).length, 4, 'a proxy outside `from` keeps every locality');
});

t.test('failoverPriority: endpoints whose labels match the proxy come first', async (t) => {
  const r = translate(dr(`{ ${OD}, loadBalancer: { localityLbSetting: { failoverPriority: [topology.kubernetes.io/region] } } }`));
  t.same(r.compiled.errors, []);
  t.same(Object.fromEntries(Object.entries(r.byZone).map(([z, v]) => [z, v[0]])), { 'us-east1-a': 0, 'us-east1-b': 0, 'eu-west1-a': 1, 'ap-south1-a': 1 });
  const pinned = translate(dr(`{ ${OD}, loadBalancer: { localityLbSetting: { failoverPriority: ["topology.kubernetes.io/region=eu-west1"] } } }`));
  t.same(Object.fromEntries(Object.entries(pinned.byZone).map(([z, v]) => [z, v[0]])), { 'us-east1-a': 1, 'us-east1-b': 1, 'eu-west1-a': 0, 'ap-south1-a': 1 }, '`label=value` overrides the proxy\'s value');
});

t.test("the proxy's node.locality wins over its pod's", async (t) => {
  const r = translate(dr(`{ ${OD} }`), { region: 'eu-west1', zone: 'eu-west1-a' });
  t.same(Object.fromEntries(Object.entries(r.byZone).map(([z, v]) => [z, v[0]])), { 'eu-west1-a': 0, 'us-east1-a': 1, 'us-east1-b': 1, 'ap-south1-a': 1 });
});

t.test('ServiceEntry endpoints carry their locality', async (t) => {
  const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: default }
spec:
  hosts: [ext.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.1.0.1, locality: us-east1/us-east1-a }, { address: 10.1.0.2, locality: eu-west1/eu-west1-a }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ext, namespace: default }
spec: { host: ext.example.com, trafficPolicy: { ${OD} } }
`;
  const loaded = loadManifests(BASE + se, 'in.yaml');
  t.same(loaded.issues.map(formatIssue), []);
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, {}, model));
  const cla = res.endpoints.find((e) => e.cluster_name === 'outbound|80||ext.example.com') as { endpoints: Group[] };
  t.same(cla.endpoints.map((g) => [g.locality.zone, g.priority ?? 0]), [['eu-west1-a', 1], ['us-east1-a', 0]]);
});

t.test('validation: distribute weights total 100; distribute and failover exclude each other', async (t) => {
  const r = translate(dr(`{ loadBalancer: { localityLbSetting: { distribute: [{ from: "us-east1/*", to: { "us-east1/*": 60 } }], failover: [{ from: us-east1, to: us-east1 }] } } }`));
  const text = r.issues.join('\n');
  t.match(text, /localityLbSetting\.distribute\[0\]\.to: weights must total 100 \(got 60\)/);
  t.match(text, /localityLbSetting: distribute and failover cannot both be set/);
  t.match(text, /localityLbSetting\.failover\[0\]: from and to must differ/);
});

t.test('warmup: slow_start_config on the cluster, read by the proxy compiler', async (t) => {
  const old = translate(dr(`{ loadBalancer: { warmupDurationSecs: 60s } }`));
  t.same(old.issues, []);
  t.same(old.compiled.errors, []);
  t.same(old.cluster.least_request_lb_config, { slow_start_config: { slow_start_window: '60s' } }, "Istio's default LEAST_REQUEST");
  const rr = translate(dr(`{ loadBalancer: { simple: ROUND_ROBIN, warmup: { duration: 30s, minimumPercent: 20, aggression: 2 } } }`));
  t.same(rr.issues, []);
  t.same(rr.compiled.errors, []);
  t.same(rr.cluster.round_robin_lb_config, { slow_start_config: { slow_start_window: '30s', aggression: { default_value: 2, runtime_key: '(' }, min_weight_percent: { value: 20 } } });
  const p = fromJsonData<Cluster>(TYPE_URL.Cluster, rr.cluster as never);
  const c = p.ok ? compileCluster(p.value) : undefined;
  t.same(c?.ok && c.value.slowStart, { windowMs: 30_000, aggression: 2, minWeightPercent: 20 });
  const bad = translate(dr(`{ loadBalancer: { warmup: { minimumPercent: 120, aggression: 0.5 } } }`));
  const text = bad.issues.join('\n');
  t.match(text, /loadBalancer\.warmup\.duration: is required/);
  t.match(text, /loadBalancer\.warmup\.minimumPercent/);
  t.match(text, /loadBalancer\.warmup\.aggression: must be a number of at least 1/);
});

t.test('the mesh config: localityLbSetting for rules without one, enabled: false turns it off', async (t) => {
  const mesh = parseMeshConfig('localityLbSetting:\n  failover: [{ from: us-east1, to: ap-south1 }]\n', 'mesh.yaml');
  t.same(mesh.warnings, []);
  const yaml = BASE + dr(`{ ${OD} }`);
  const resources = loadManifests(yaml, 'in.yaml').resources.map((r) => r.resource);
  const prio = (meshConfig: MeshConfig): Record<string, number> => {
    const model = buildMeshModel(resources, { meshConfig });
    const res = generateForProxy(model, proxyIdentity(NODE, {}, model));
    const cla = res.endpoints.find((e) => e.cluster_name === CLUSTER) as { endpoints: Group[] };
    return Object.fromEntries(cla.endpoints.map((g) => [g.locality.zone ?? '', g.priority ?? 0]));
  };
  t.same(prio(mesh.config), { 'us-east1-a': 0, 'us-east1-b': 1, 'ap-south1-a': 2, 'eu-west1-a': 3 }, "the mesh's failover");
  const off = parseMeshConfig('localityLbSetting: { enabled: false }\n', 'mesh.yaml').config;
  t.same(prio(off), { 'us-east1-a': 0, 'us-east1-b': 0, 'ap-south1-a': 0, 'eu-west1-a': 0 });
  t.throws(() => parseMeshConfig('localityLbSetting:\n  distribute: [{ from: "a/*", to: { "a/*": 50 } }]\n', 'mesh.yaml'), /mesh\.yaml:1:1: localityLbSetting\.distribute\[0\]\.to: weights must total 100/);
});
