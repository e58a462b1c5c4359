/**
 * What the injector gives the proxy for Istio's metrics: the metrics merge (the app's
 * prometheus.io annotations moved into ISTIO_PROMETHEUS_ANNOTATIONS, the pod scraped on 15020)
 * and the workload identity (ISTIO_META_WORKLOAD_NAME, ISTIO_META_OWNER, cluster and mesh ids).
 */
import t from 'tap';
import { injectPod } from '../src/inject-pod.js';
import type { Container, Pod } from '../src/kube-types.js';
import { podWorkload, ownerUri } from '../src/workload-identity.js';

const pod = (annotations: Record<string, string> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod => ({
  metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, annotations, ...meta },
  spec: { containers: [{ name: 'web', image: 'web', ports: [{ containerPort: 8080 }] }] },
});

function inject(p: Pod): { annotations: Record<string, string>; env: Map<string, string | undefined> } {
  const r = injectPod(p, { name: 'shop' });
  if (!r.injected) throw new Error('not injected');
  const all: Container[] = [...(r.pod.spec?.initContainers ?? []), ...(r.pod.spec?.containers ?? [])];
  const proxy = all.find((c) => c.name === 'istio-proxy')!;
  return { annotations: r.pod.metadata?.annotations ?? {}, env: new Map((proxy.env ?? []).map((e) => [e.name, e.value])) };
}

const MERGED = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' };

t.test('metrics merge: the app\'s annotations move to ISTIO_PROMETHEUS_ANNOTATIONS, the pod is scraped on 15020', async (t) => {
  const r = inject(pod({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102', 'prometheus.io/path': '/metrics' }));
  t.equal(r.env.get('ISTIO_PROMETHEUS_ANNOTATIONS'), '{"scrape":"true","path":"/metrics","port":"9102"}', "Istio's shape: scrape, path, port");
  t.match(r.annotations, MERGED);
});

t.test('metrics merge: no annotations of the app: none moved, the pod still scraped on 15020', async (t) => {
  const r = inject(pod());
  t.notOk(r.env.has('ISTIO_PROMETHEUS_ANNOTATIONS'));
  t.match(r.annotations, MERGED);
});

t.test('metrics merge: every spelling Prometheus reads is moved and cleared; missing fields are empty', async (t) => {
  const r = inject(pod({ 'prometheus.io.port': '9000' }));
  t.equal(r.env.get('ISTIO_PROMETHEUS_ANNOTATIONS'), '{"scrape":"","path":"","port":"9000"}');
  t.notOk('prometheus.io.port' in r.annotations, 'the other spelling is gone (Prometheus would pick either)');
  t.match(r.annotations, MERGED);
});

t.test('metrics merge: not done when the pod opts out or was merged already', async (t) => {
  for (const [why, a] of [
    ['prometheus.io/scrape: "false"', { 'prometheus.io/scrape': 'false', 'prometheus.io/port': '9102' }],
    ['prometheus.istio.io/merge-metrics: "false"', { 'prometheus.istio.io/merge-metrics': 'false', 'prometheus.io/port': '9102' }],
    ['port already 15020 (injected again)', { 'prometheus.io/port': '15020', 'prometheus.io/path': '/custom' }],
  ] as const) {
    const r = inject(pod({ ...a }));
    t.notOk(r.env.has('ISTIO_PROMETHEUS_ANNOTATIONS'), `${why}: no env`);
    for (const [k, v] of Object.entries(a)) t.equal(r.annotations[k], v, `${why}: ${k} kept`);
  }
  t.notOk('prometheus.io/path' in inject(pod({ 'prometheus.io/scrape': 'false' })).annotations, 'scrape false: no path added');
});

t.test('workload identity from the owner references, as Istio derives it', async (t) => {
  const rs = pod({}, { name: undefined, generateName: 'web-7d4b9c-', labels: { app: 'web', 'pod-template-hash': '7d4b9c' }, ownerReferences: [{ kind: 'ReplicaSet', apiVersion: 'apps/v1', name: 'web-7d4b9c', controller: true }] });
  t.same(podWorkload(rs), { kind: 'Deployment', apiVersion: 'apps/v1', name: 'web' }, 'a ReplicaSet with the pod-template-hash: its Deployment');
  const r = inject(rs);
  t.equal(r.env.get('ISTIO_META_WORKLOAD_NAME'), 'web');
  t.equal(r.env.get('ISTIO_META_OWNER'), 'kubernetes://apis/apps/v1/namespaces/shop/deployments/web');
  t.equal(r.env.get('ISTIO_META_CLUSTER_ID'), 'Kubernetes');
  t.equal(r.env.get('ISTIO_META_MESH_ID'), 'cluster.local');
  const cron = pod({}, { ownerReferences: [{ kind: 'Job', apiVersion: 'batch/v1', name: 'report-29012345', controller: true }] });
  t.equal(ownerUri(podWorkload(cron), 'shop'), 'kubernetes://apis/batch/v1/namespaces/shop/cronjobs/report', "a CronJob's Job");
  const sts = pod({}, { ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] });
  t.equal(ownerUri(podWorkload(sts), 'shop'), 'kubernetes://apis/apps/v1/namespaces/shop/statefulsets/db', 'apiVersion filled in for a known kind');
  t.equal(inject(pod()).env.get('ISTIO_META_OWNER'), 'kubernetes://apis/v1/namespaces/shop/pods/web-1', 'a bare pod');
  const named = inject(pod({}, { labels: { app: 'web', 'service.istio.io/workload-name': 'storefront' } }));
  t.equal(named.env.get('ISTIO_META_WORKLOAD_NAME'), 'storefront', 'the service.istio.io/workload-name label wins');
});
