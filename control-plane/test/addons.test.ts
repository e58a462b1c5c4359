/**
 * samples/addons: every object is valid by Kubernetes' own schemas (kubernetes-models), the
 * pieces fit together (selectors, ports, labels `minimesh dashboard` looks for), `minimesh
 * analyze` finds nothing to say, Kiali's config is the one for this mesh, and the Prometheus
 * config is accepted by Debian's promtool and, run by a real Prometheus, keeps an annotated
 * sidecar at IP:15020/stats/prometheus with its pod's labels and drops the others.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { readManifestText } from '../src/analyze/analyzed-resource.js';
import { runAnalysis } from '../src/analyze/run-analysis.js';
import { SOURCE_TEST_DIR } from './helpers/fixtures.js';
import { PROMETHEUS_BIN, PROMETHEUS_MISSING, PROMTOOL_BIN, prometheusTargets, promtoolCheckConfig, withFileDiscovery, type ScrapeConfig, type Targets } from './helpers/prometheus-run.js';

const ADDONS = path.join(SOURCE_TEST_DIR, '..', '..', 'samples', 'addons');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

const CLASSES: Record<string, { new (o: any): { validate(): void } }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

const files = fs.readdirSync(ADDONS).filter((f) => f.endsWith('.yaml')).sort();
const objects = new Map<string, Obj[]>(files.map((f) => [f, YAML.parseAllDocuments(fs.readFileSync(path.join(ADDONS, f), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean)]));
const find = (file: string, kind: string, name: string): Obj => {
  const o = objects.get(file)?.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${file}: no ${kind} ${name}`);
  return o;
};
const selects = (sel: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);

t.test('the files, and every object valid by the Kubernetes schemas', async (t) => {
  t.same(files, ['kiali.yaml', 'prometheus.yaml']);
  t.ok(fs.existsSync(path.join(ADDONS, 'README.md')), 'a README says what each file is');
  for (const [file, objs] of objects) {
    for (const o of objs) {
      const what = `${file}: ${o.kind} ${o.metadata?.name}`;
      const Cls = CLASSES[`${o.apiVersion}/${o.kind}`];
      if (!Cls) {
        t.fail(`${what}: no schema for ${o.apiVersion} ${o.kind}`);
        continue;
      }
      t.doesNotThrow(() => new Cls(o).validate(), what);
      if (!o.kind.startsWith('Cluster')) t.equal(o.metadata.namespace, 'istio-system', `${what} is in istio-system`);
    }
  }
  // The checker itself rejects what the API server would.
  t.throws(() => new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 'x' as unknown as number }] }] } } } }).validate());
});

t.test('Deployments, Services and RBAC fit together; images are pinned', async (t) => {
  for (const [file, name, port] of [
    ['prometheus.yaml', 'prometheus', 9090],
    ['kiali.yaml', 'kiali', 20001],
  ] as const) {
    const dep = find(file, 'Deployment', name);
    const svc = find(file, 'Service', name);
    const podLabels = dep.spec.template.metadata.labels as Record<string, string>;
    t.ok(selects(dep.spec.selector.matchLabels, podLabels), `${name}: the Deployment selects its own pods`);
    t.ok(selects(svc.spec.selector, podLabels), `${name}: the Service selects them`);
    t.equal(podLabels['sidecar.istio.io/inject'], 'false', `${name}: no sidecar`);
    t.ok(svc.spec.ports.some((p: any) => p.port === port && p.name === 'http'), `${name}: Service port ${port} named http`);
    const c = dep.spec.template.spec.containers[0];
    t.match(c.image, /^[\w./-]+:v\d+\.\d+\.\d+$/, `${name}: image pinned to a release (${c.image})`);
    t.ok(c.ports.some((p: any) => p.containerPort === port), `${name}: the container listens on ${port}`);
    t.equal(dep.spec.template.spec.serviceAccountName, name);
    const binding = find(file, 'ClusterRoleBinding', name);
    t.same([binding.roleRef.name, binding.subjects[0].name, binding.subjects[0].namespace], [name, name, 'istio-system'], `${name}: its account has its ClusterRole`);
  }
  const prom = find('prometheus.yaml', 'Deployment', 'prometheus');
  t.equal(prom.spec.template.metadata.labels['app.kubernetes.io/name'], 'prometheus', "the label 'minimesh dashboard prometheus' looks for");
  t.match(prom.spec.template.spec.containers[0].image, /^prom\/prometheus:/);
  const promRules = find('prometheus.yaml', 'ClusterRole', 'prometheus').rules as { apiGroups?: string[]; resources?: string[]; verbs: string[]; nonResourceURLs?: string[] }[];
  for (const r of ['nodes', 'nodes/proxy', 'services', 'endpoints', 'pods', 'ingresses'])
    t.ok(promRules.some((x) => x.resources?.includes(r) && ['get', 'list', 'watch'].every((v) => x.verbs.includes(v))), `prometheus may read ${r}`);
  t.ok(promRules.some((x) => x.nonResourceURLs?.includes('/metrics')), 'and GET /metrics');

  const kiali = find('kiali.yaml', 'Deployment', 'kiali');
  const labels = kiali.spec.template.metadata.labels;
  t.match(labels, { app: 'kiali', 'app.kubernetes.io/name': 'kiali', 'app.kubernetes.io/instance': 'kiali' }, "app=kiali, the label 'minimesh dashboard kiali' looks for");
  t.match(kiali.spec.template.spec.containers[0].image, /^quay\.io\/kiali\/kiali:/);
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'])
    t.match(kiali.spec.template.spec.containers[0][probe], { httpGet: { path: '/kiali/healthz', port: 20001 } }, `kiali ${probe}: GET /kiali/healthz on 20001`);
  t.same(
    find('kiali.yaml', 'Service', 'kiali').spec.ports.map((p: any) => [p.name, p.port]),
    [
      ['http', 20001],
      ['http-metrics', 9090],
    ],
  );
  const kialiRules = find('kiali.yaml', 'ClusterRole', 'kiali').rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  const can = (group: string, resource: string, verb: string): boolean => kialiRules.some((r) => r.apiGroups.includes(group) && (r.resources.includes(resource) || r.resources.includes('*')) && r.verbs.includes(verb));
  for (const [g, r] of [
    ['', 'pods'],
    ['', 'services'],
    ['', 'namespaces'],
    ['apps', 'deployments'],
    ['batch', 'jobs'],
    ['networking.istio.io', 'virtualservices'],
    ['security.istio.io', 'peerauthentications'],
    ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
  ])
    t.ok(can(g!, r!, 'list') && can(g!, r!, 'watch'), `kiali may list and watch ${g || 'core'}/${r}`);
});

t.test("Kiali's config is this mesh's", async (t) => {
  const config = YAML.parse(find('kiali.yaml', 'ConfigMap', 'kiali').data['config.yaml']);
  t.match(config, {
    auth: { strategy: 'anonymous' },
    deployment: { cluster_wide_access: true },
    server: { port: 20001, web_root: '/kiali' },
    external_services: {
      prometheus: { url: 'http://prometheus.istio-system:9090' },
      grafana: { enabled: false },
      tracing: { enabled: false },
      istio: {
        root_namespace: 'istio-system',
        istiod_deployment_name: 'istiod',
        istiod_pod_monitoring_port: 15014,
        url_service_version: 'http://istiod.istio-system:15014/version',
        istio_api_enabled: false,
      },
    },
  });
  const svc = find('prometheus.yaml', 'Service', 'prometheus');
  t.equal(new URL(config.external_services.prometheus.url).hostname, `${svc.metadata.name}.${svc.metadata.namespace}`, 'the URL names the Prometheus Service');
  t.equal(config.login_token.signing_key.length, 16, 'a signing key of a length Kiali accepts');
});

t.test('minimesh analyze has nothing to say about the add-ons', async (t) => {
  const resources = files.flatMap((f) => readManifestText(fs.readFileSync(path.join(ADDONS, f), 'utf8'), f, 'default').resources);
  t.same(runAnalysis(resources), []);
});

/** The ConfigMap's prometheus.yml. */
const promConfig = (): { scrape_configs: ScrapeConfig[] } => YAML.parse(find('prometheus.yaml', 'ConfigMap', 'prometheus').data['prometheus.yml']);

/** Skip outside CI when the binary is missing; under CI=true the test runs and fails. */
const skipWithout = (bin: string | undefined): string | false => (bin === undefined && process.env.CI !== 'true' ? PROMETHEUS_MISSING : false);
function missing(t: Test, bin: string | undefined): boolean {
  if (bin === undefined) t.fail(`${PROMETHEUS_MISSING}: CI must have it`);
  return bin === undefined;
}

t.test('in the cluster, pods are discovered through the API', async (t) => {
  const job = promConfig().scrape_configs.find((s) => s.job_name === 'kubernetes-pods');
  t.same(job?.kubernetes_sd_configs, [{ role: 'pod' }]);
});

t.test('promtool accepts prometheus.yml (pod discovery as file discovery: Debian builds no Kubernetes discovery)', { skip: skipWithout(PROMTOOL_BIN) }, async (t) => {
  if (missing(t, PROMTOOL_BIN)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-addons-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'targets.json'), '[]');
  const file = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(file, YAML.stringify(withFileDiscovery(promConfig(), path.join(dir, 'targets.json'))));
  const r = await promtoolCheckConfig(file);
  t.equal(r.code, 0, r.output);
  t.match(r.output, /SUCCESS/);
  fs.writeFileSync(file, YAML.stringify({ scrape_configs: [{ job_name: 'x', relabel_configs: [{ action: 'nope' }] }] }));
  t.not((await promtoolCheckConfig(file)).code, 0, 'and rejects a broken one');
});

/** A pod as Kubernetes discovery labels it (one target per pod here). */
function pod(name: string, ip: string, annotations: Record<string, string>, phase = 'Running'): { targets: string[]; labels: Record<string, string> } {
  const labels: Record<string, string> = {
    __meta_kubernetes_namespace: 'shop',
    __meta_kubernetes_pod_name: name,
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_phase: phase,
    __meta_kubernetes_pod_node_name: 'minikube',
    __meta_kubernetes_pod_label_app: 'reviews',
    __meta_kubernetes_pod_label_version: 'v1',
  };
  for (const [k, v] of Object.entries(annotations)) labels[`__meta_kubernetes_pod_annotation_${k.replace(/[^a-zA-Z0-9]/g, '_')}`] = v;
  return { targets: [ip.includes(':') ? `[${ip}]:9080` : `${ip}:9080`], labels };
}

t.test('a real Prometheus keeps the annotated sidecars at :15020/stats/prometheus with their pod labels', { skip: skipWithout(PROMETHEUS_BIN) }, async (t) => {
  if (missing(t, PROMETHEUS_BIN)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-addons-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const merged = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' };
  // TEST-NET addresses: scraping them goes nowhere.
  const groups = [
    pod('reviews-v1-abc', '192.0.2.10', merged),
    pod('reviews-v6-abc', 'fd00::5', merged),
    pod('plain-abc', '192.0.2.11', {}),
    pod('done-abc', '192.0.2.12', merged, 'Succeeded'),
  ];
  const targets = path.join(dir, 'targets.json');
  fs.writeFileSync(targets, JSON.stringify(groups));
  const config = promConfig();
  const onlyPods = { ...config, scrape_configs: config.scrape_configs.filter((s) => s.job_name === 'kubernetes-pods') };
  const file = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(file, YAML.stringify(withFileDiscovery(onlyPods, targets)));
  const seen = (r: Targets) => r.active.length + r.dropped.length >= groups.length;
  const r = await prometheusTargets(file, seen);
  t.ok(seen(r), `every pod was discovered (${r.active.length} kept, ${r.dropped.length} dropped)`);
  const active = new Map(r.active.map((x) => [x.discoveredLabels.__meta_kubernetes_pod_name, x]));
  t.same([...active.keys()].sort(), ['reviews-v1-abc', 'reviews-v6-abc'], 'only the running, annotated pods are kept');
  t.equal(active.get('reviews-v1-abc')?.scrapeUrl, 'http://192.0.2.10:15020/stats/prometheus');
  t.equal(active.get('reviews-v6-abc')?.scrapeUrl, 'http://[fd00::5]:15020/stats/prometheus');
  t.match(active.get('reviews-v1-abc')?.labels, { job: 'kubernetes-pods', app: 'reviews', version: 'v1', namespace: 'shop', pod: 'reviews-v1-abc', node: 'minikube', instance: '192.0.2.10:15020' });
  t.same(r.dropped.map((x) => x.discoveredLabels.__meta_kubernetes_pod_name).sort(), ['done-abc', 'plain-abc'], 'not annotated, or no longer running: dropped');
});
